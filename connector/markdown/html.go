package markdown

import (
	"fmt"
	"strings"

	"github.com/JohannesKaufmann/html-to-markdown/v2/converter"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/base"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/commonmark"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/strikethrough"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/table"
)

// htmlConverter is shared: the converter guards its own state.
var htmlConverter = converter.NewConverter(
	converter.WithPlugins(
		base.NewBasePlugin(),
		commonmark.NewCommonmarkPlugin(
			commonmark.WithBulletListMarker("-"),
			commonmark.WithEmDelimiter("*"),
			// Jira renders heading anchors as <a name=…></a>: no link, no text.
			commonmark.WithLinkEmptyHrefBehavior(commonmark.LinkBehaviorSkip),
			commonmark.WithLinkEmptyContentBehavior(commonmark.LinkBehaviorSkip),
		),
		strikethrough.NewStrikethroughPlugin(),
		// Jira's rendered tables often hold line breaks in cells; keep them
		// as tables rather than dropping to raw HTML.
		table.NewTablePlugin(
			table.WithNewlineBehavior(table.NewlineBehaviorPreserve),
			table.WithHeaderPromotion(true),
			table.WithCellPaddingBehavior(table.CellPaddingBehaviorMinimal),
		),
	),
)

// FromHTML converts HTML rendered by Jira (renderedFields, renderedBody) to
// Markdown with GFM tables and strikethrough. Empty input gives "".
func FromHTML(html string) (string, error) {
	if strings.TrimSpace(html) == "" {
		return "", nil
	}
	md, err := htmlConverter.ConvertString(html)
	if err != nil {
		return "", fmt.Errorf("html to markdown: %w", err)
	}
	return strings.TrimSpace(md), nil
}
