// Package markdown turns the rich text Jira returns into Markdown for the index
// and turns plain text into what Jira accepts for comments: Atlassian Document
// Format (ADF) on Cloud, wiki markup on Data Center.
//
// Conversion never fails on odd but well-formed input: unknown nodes keep
// their text, attributes of the wrong type are ignored. Only input that is not
// JSON at all is an error, because then there is no text to keep.
package markdown
