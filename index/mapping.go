package index

import (
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/single"
	"github.com/blevesearch/bleve/v2/mapping"
	bindex "github.com/blevesearch/bleve_index_api"
)

// Internal field names. Users never type these: the query parser maps the
// names of fieldAliases onto them and rejects everything else.
const (
	fConn     = "conn"   // connection name
	fScope    = "scope"  // conn + "/" + issue id: finds every document of an issue
	fKey      = "key"    // issue key, exact (Jira keys are upper case); stored
	fStatus   = "status" // lower-cased keyword
	fIType    = "issuetype"
	fPriority = "priority"
	fLabels   = "labels"
	fSummary  = "summary" // issue summary (issue documents only); stored
	// fText is all the words of a document (issue: summary and description;
	// comment: body; attachment: file name and text) in one field, so that a
	// word is one term search rather than a disjunction over fields.
	fText     = "text"
	fHead     = "head"       // the first snippetLen bytes of the body; stored only (snippets)
	fPairs    = "text_pairs" // neighbour word pairs of text, for phrases (pairs.go)
	fFilename = "filename"   // attachment file name
	// Dates are indexed as UTC days (YYYY-MM-DD keywords): one term per
	// document instead of bleve's sixteen per date-time, and day precision
	// is what search filters need. The exact updated time is stored.
	fCreatedDay = "created_day" // issue documents only
	fUpdatedDay = "updated_day"
	fUpdated    = "updated" // stored only, RFC 3339
	fURL        = "url"     // stored only

	// Keyword fields that keep the value as Jira spells it (the other query
	// fields are lower-cased), for filters.
	fFacetProject = "f_project"
	fFacetStatus  = "f_status"
	fFacetType    = "type" // issue | comment | attachment; filters use it too
	fFacetIType   = "f_issuetype"

	// Permission fields: values taken from the issue itself only, so that
	// membership, role, grant and security-level changes need no re-index.
	fPermProject  = "perm_project"  // project id
	fPermLevel    = "perm_level"    // projectID/levelID, or levelNone
	fPermReporter = "perm_reporter" // account id (absent when none)
	fPermAssignee = "perm_assignee"
	fPermCF       = "perm_cf"   // fieldID=value for user/group picker custom fields
	fPermVis      = "perm_vis"  // comment visibility: visNone, g:<group id>, gn:<group name>, r:<project id>:<role name>; "i:" before it for internal notes (and their files)
	fPermPart     = "perm_part" // JSM request participants (account ids)
	fPermOrg      = "perm_org"  // JSM organizations the request is shared with (ids)

	fFacetRequestType = "f_requesttype" // JSM request type name
)

const (
	levelNone = "none"
	visNone   = "none"
)

const analyzerKeywordLower = "keyword_lower"

// Document types.
const (
	TypeIssue      = "issue"
	TypeComment    = "comment"
	TypeAttachment = "attachment"
)

func newMapping() (*mapping.IndexMappingImpl, error) {
	im := mapping.NewIndexMapping()
	im.ScoringModel = bindex.BM25Scoring
	// Query words are analysed like the text (identifiers included).
	im.DefaultAnalyzer = analyzerText
	im.StoreDynamic = false
	im.IndexDynamic = false
	im.DocValuesDynamic = false
	if err := im.AddCustomAnalyzer(analyzerKeywordLower, map[string]any{
		"type":          custom.Name,
		"tokenizer":     single.Name,
		"token_filters": []string{lowercase.Name},
	}); err != nil {
		return nil, err
	}
	if err := im.AddCustomAnalyzer(analyzerText, textAnalyzerConfig); err != nil {
		return nil, err
	}
	if err := im.AddCustomAnalyzer(analyzerPairs, pairsAnalyzerConfig); err != nil {
		return nil, err
	}

	// text: English analysis, positions for phrases and highlighting.
	text := func(store bool) *mapping.FieldMapping {
		f := mapping.NewTextFieldMapping()
		f.Analyzer = en.AnalyzerName
		f.Store = store
		f.IncludeInAll = false
		f.DocValues = false
		return f
	}
	// kw: exact keyword, no scoring data (filters only).
	kw := func(analyzer string, store, docValues bool) *mapping.FieldMapping {
		f := mapping.NewKeywordFieldMapping()
		f.Analyzer = analyzer
		f.Store = store
		f.IncludeTermVectors = false
		f.IncludeInAll = false
		f.DocValues = docValues
		f.SkipFreqNorm = true
		return f
	}
	storedOnly := func() *mapping.FieldMapping {
		f := mapping.NewTextFieldMapping()
		f.Index = false
		f.Store = true
		f.IncludeTermVectors = false
		f.IncludeInAll = false
		f.DocValues = false
		return f
	}

	dm := mapping.NewDocumentStaticMapping()
	add := func(name string, f *mapping.FieldMapping) { dm.AddFieldMappingsAt(name, f) }
	add(fConn, kw(keyword.Name, false, false))
	add(fScope, kw(keyword.Name, false, false))
	add(fKey, kw(keyword.Name, true, false))
	add(fStatus, kw(analyzerKeywordLower, false, false))
	add(fIType, kw(analyzerKeywordLower, false, false))
	add(fPriority, kw(analyzerKeywordLower, false, false))
	add(fLabels, kw(analyzerKeywordLower, false, false))
	add(fSummary, text(true))
	// Text has no term vectors: phrases use the pairs field, snippets
	// re-analyse the stored head. Summary and file name keep theirs (short
	// texts) for bleve's positional phrase search.
	all := text(false)
	all.Analyzer = analyzerText
	all.IncludeTermVectors = false
	add(fText, all)
	pairs := text(false)
	pairs.Analyzer = analyzerPairs
	pairs.IncludeTermVectors = false
	pairs.SkipFreqNorm = true // a filter: the words carry the score
	add(fPairs, pairs)
	add(fHead, storedOnly())
	filename := text(true)
	filename.Analyzer = analyzerText
	add(fFilename, filename)
	add(fCreatedDay, kw(keyword.Name, false, false))
	add(fUpdatedDay, kw(keyword.Name, false, false))
	add(fUpdated, storedOnly())
	add(fURL, storedOnly())
	add(fFacetProject, kw(keyword.Name, true, false))
	add(fFacetStatus, kw(keyword.Name, true, false))
	add(fFacetType, kw(keyword.Name, false, false))
	add(fFacetIType, kw(keyword.Name, false, false))
	add(fPermProject, kw(keyword.Name, false, false))
	add(fPermLevel, kw(keyword.Name, false, false))
	add(fPermReporter, kw(keyword.Name, false, false))
	add(fPermAssignee, kw(keyword.Name, false, false))
	add(fPermCF, kw(keyword.Name, false, false))
	add(fPermVis, kw(keyword.Name, false, false))
	add(fPermPart, kw(keyword.Name, false, false))
	add(fPermOrg, kw(keyword.Name, false, false))
	add(fFacetRequestType, kw(keyword.Name, false, false))
	im.DefaultMapping = dm
	return im, nil
}
