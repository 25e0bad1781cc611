package connector

import (
	"encoding/json"

	"switchyard/connector/markdown"
)

// Rich-text conversion lives in connector/markdown; these seams are the only
// places the connector calls it.
var (
	adfToMarkdown  = markdown.FromADF
	textToADF      = markdown.ADFFromText
	htmlToMarkdown = markdown.FromHTML
	textToWiki     = markdown.WikiFromText
)

// richText converts a description or comment body to Markdown: ADF objects
// (Cloud) through FromADF, strings (Data Center wiki text) as they are unless
// rendered HTML is available.
func (c *Client) richText(raw json.RawMessage, rendered string, opts markdown.ADFOptions) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	if isJSONString(raw) {
		if rendered != "" {
			return htmlToMarkdown(rendered)
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		return s, nil
	}
	return adfToMarkdown(raw, opts)
}
