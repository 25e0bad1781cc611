package connector

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// realFixture is one file of ../shared/realjira/fixtures: the runner that
// serves it to the client (see realjira_harness_test.go), the facts read
// from the file that must come out, and, for a file that contradicts its own
// schema, why (reported in the test log as ARTIFACT, never hidden).
type realFixture struct {
	run      string
	want     []string
	artifact string
}

// Facts: "k=v" must be produced exactly, "k~s" is a fact k containing s,
// "-k" means no fact k. Times are the fixture's instants in UTC.
var realFixtures = map[string]realFixture{
	// --- ADF documents (every text node must survive; see "lost") ---
	"adf/atlaskit-adfutils-marks.json":                                {run: "adf", want: []string{"md~[Hello, World!](https://www.atlassian.com)", "md~*italic*", "md~, strong and underlined text!"}},
	"adf/atlaskit-adfutils-mentions.json":                             {run: "adf", want: []string{"md~@Oscar Wallhult", "md~@mention", "md~@unknown", "md~@here", "md~@all"}},
	"adf/atlaskit-adfutils-multiple-emojis.json":                      {run: "adf", want: []string{"md~😀", "md~🤦‍♂️", "md~🇷🇺", "md~:wtf:"}},
	"adf/atlaskit-renderer-column-layout.json":                        {run: "adf", want: []string{"md~Two columns:", "md~left sidebar", "md~| cell 1 |", "md~- [ ] action", "md~decision"}},
	"adf/atlaskit-renderer-extension-layout.json":                     {run: "adf", want: []string{"md~This is the default mode of the extension.", "md~This is the wide mode", "md~This is the full-width mod"}},
	"adf/atlaskit-renderer-media-layout.json":                         {run: "adf", want: []string{"md~What is Lorem Ipsum?", "md~**Lorem Ipsum**", "md~[attachment: 2aa22582-ca0e-4bd4-b1bc-9369d10a0719]"}},
	"adf/atlaskit-renderer-smart-card.json":                           {run: "adf", want: []string{"md~### inlineCard with url", "md~<https://extranet.atlassian.com/pages/viewpage.action?pageId=3088533424>", "md~### blockCard with data"}},
	"adf/atlaskit-renderer-table-layout.json":                         {run: "adf", want: []string{"md~| Header content 1 | Header content 2 |", "md~| Body content 1 | Body content 2 |", "md~Body content 8"}},
	"adf/atlaskit-schema-applicationCard-with-all-content.json":       {run: "adf", want: []string{"md~[foo](https://www.atlassian.com)"}},
	"adf/atlaskit-schema-bodied-extension-with-nested-extension.json": {run: "adf", want: []string{"-lost"}},
	"adf/atlaskit-schema-codeBlock-with-language.json":                {run: "adf", want: []string{"md~```abap", "md~```c++", "md~```csharp"}},
	"adf/atlaskit-schema-codeBlock-with-multiple-text.json":           {run: "adf", want: []string{"md~foobar"}},
	"adf/atlaskit-schema-decision-with-mention.json":                  {run: "adf", want: []string{"md~have you seen that? @Test User"}},
	"adf/atlaskit-schema-emoji-with-fallback.json":                    {run: "adf", want: []string{"md=😀"}},
	"adf/atlaskit-schema-emoji-with-variation.json":                   {run: "adf", want: []string{"md~:thumbsup::skin-tone-2:"}},
	"adf/atlaskit-schema-extension-with-parameters.json":              {run: "adf", want: []string{"-lost"}},
	"adf/atlaskit-schema-hardBreak-with-text.json":                    {run: "adf", want: []string{"-lost"}},
	"adf/atlaskit-schema-heading-with-link-text.json":                 {run: "adf", want: []string{"md~# ", "md~foo()"}},
	"adf/atlaskit-schema-inlineExtension-with-parameters.json":        {run: "adf", want: []string{"-lost"}},
	"adf/atlaskit-schema-link-with-href-title.json":                   {run: "adf", want: []string{"md=[Foo](http://example.com)"}},
	"adf/atlaskit-schema-list-item-with-ordered-list.json":            {run: "adf", want: []string{"md~- foo", "md~1. foo"}},
	"adf/atlaskit-schema-media-with-type-link.json":                   {run: "adf", want: []string{"md~[attachment: 12345]"}},
	"adf/atlaskit-schema-mediaGroup-with-multiple-media.json":         {run: "adf", want: []string{"md~[attachment: 1234]"}},
	"adf/atlaskit-schema-mediaSingle-with-parameters.json":            {run: "adf", want: []string{"md~[attachment: 1234]"}},
	"adf/atlaskit-schema-mention-with-user-type.json":                 {run: "adf", want: []string{"md~@Test User", "md~@all", "md~@coffee"}},
	"adf/atlaskit-schema-orderedList-with-order.json":                 {run: "adf", want: []string{"md~3. foo\n\n   foo"}},
	"adf/atlaskit-schema-panel-with-list.json":                        {run: "adf", want: []string{"md~> **Tip:**", "md~- foo"}},
	"adf/atlaskit-schema-placeholder.json":                            {run: "adf", want: []string{"md~Write something interesting"}},
	"adf/atlaskit-schema-subsup-as-sup.json":                          {run: "adf", want: []string{"md=Foo"}},
	// The schema's "table with nested nodes" holds one cell, "foo" (no
	// nested table: that is atlassian-renderer-table-with-nested-table).
	"adf/atlaskit-schema-table-with-nested-nodes.json":          {run: "adf", want: []string{"md=| foo |\n| --- |"}},
	"adf/atlaskit-schema-task-with-mention.json":                {run: "adf", want: []string{"md~- [ ] have you seen that? @Test User"}},
	"adf/atlaskit-schema-taskList-with-tasks.json":              {run: "adf", want: []string{"md~- [ ] Do this!", "md~- [x] This is completed"}},
	"adf/atlaskit-schema-text-code-and-link.json":               {run: "adf", want: []string{"md~`Foo`"}},
	"adf/atlaskit-schema-text-textColor.json":                   {run: "adf", want: []string{"md=Foo"}},
	"adf/atlassian-renderer-annotation-over-marks.json":         {run: "adf", want: []string{"md=**hello world**"}},
	"adf/atlassian-renderer-card.json":                          {run: "adf", want: []string{"md~<https://inlineCardTestUrl>", "md~<https://inlineCardTestUrl/forbidden>", "md~<https://blockCardTestUrl>"}},
	"adf/atlassian-renderer-date.json":                          {run: "adf", want: []string{"md~2020-10-26"}},
	"adf/atlassian-renderer-decision.json":                      {run: "adf", want: []string{"md~decision"}},
	"adf/atlassian-renderer-headings-nested-expands.json":       {run: "adf", want: []string{"md~**Expand A**", "md~# Heading 1", "md~**Expand B**", "md~## Heading 2", "md~### Heading 3"}},
	"adf/atlassian-renderer-headings-right-aligned-status.json": {run: "adf", want: []string{"md~# Status [NODE]", "md~# [NODE] Status", "md~# Middle [STATUS] Node"}},
	"adf/atlassian-renderer-layout-3-columns-with-mention.json": {run: "adf", want: []string{"md~@Verdie Carrales", "md~😁"}},
	"adf/atlassian-renderer-list-in-blockquote.json":            {run: "adf", want: []string{"md~> beginning text", "md~> - list item 1", "md~> 1. Numbered list item 1", "md~> ending text"}},
	"adf/atlassian-renderer-media-inline-image-with-links.json": {run: "adf", want: []string{"md~# H1 ", "md~[attachment: a4d851f3-a9b7-40c7-8bd9-3df41b6481cd]", "md~https://test.test"}},
	"adf/atlassian-renderer-nested-expand-with-media.json":      {run: "adf", want: []string{"md~[attachment: e17d729d-e5bb-44f4-a9a6-a76e3eb6f6a7]"}},
	// A table in a table header cell: the inner table follows the outer one,
	// each cell's text on its own.
	"adf/atlassian-renderer-table-with-nested-table.json": {run: "adf", want: []string{
		"md~| Table header 1<br>[nested table 1] | Table header 2 | Table header 3 |",
		"md~| Cell 1 | Cell 2 | Cell 3 |",
		"md~*Nested table 1 (in row 1, column 1):*\n\n| Table header 1 | Table header 2 |\n| --- | --- |\n| Cell 1 | Cell 2 |"}},
	"adf/jira-cli-md.json": {run: "adf", want: []string{"md~# H1", "md~## H2", "md~> Blockquote text", "md~@Person A", "md~**Bold Text**", "md~*Italic Text*", "md~~~Prefix: Strikethrough text~~", "md~[Link](https://ankit.pl)", "md~<https://antiklabs.atlassian.net/wiki/spaces/ANK/pages/124234/hello-world>"}},

	// --- Jira Cloud REST answers ---
	"cloud/airbyte-issue-comments.json": {run: "comments", want: []string{"comments=2",
		"comment 10755 author=5fc9e78d2730d800760becc4", "comment 10755 created=2022-05-17T11:06:55.076Z", "comment 10755 body=Closed", "comment 10755 visibility=public",
		"comment 10521 created=2021-04-14T21:32:43.099Z", "comment 10521 body~Lorem ipsum dolor sit amet"}},
	"cloud/airbyte-issues.json": {run: "bulkfetch", want: []string{"issues=1",
		"issue TESTKEY13-1 id=10627", "issue TESTKEY13-1 project=10016", "issue TESTKEY13-1 summary=My Summary", "issue TESTKEY13-1 description=Test issue",
		"issue TESTKEY13-1 type=Epic", "issue TESTKEY13-1 status=To Do", "issue TESTKEY13-1 statusCategory=new", "issue TESTKEY13-1 priority=Low", "issue TESTKEY13-1 labels=test",
		"issue TESTKEY13-1 reporter=5fc9e78d2730d800760becc4", "issue TESTKEY13-1 assignee=5fc9e78d2730d800760becc4",
		"issue TESTKEY13-1 created=2022-06-09T23:29:31.871Z", "issue TESTKEY13-1 updated=2022-12-08T10:22:18.889Z",
		"-issue TESTKEY13-1 security", "-issue TESTKEY13-1 fieldError"}},
	"cloud/applicationrole.openapi.json": {run: "application roles", want: []string{
		"application jira-software=42c8955c-63d7-42c8-9520-63d7aca0625,276f955c-63d7-42c8-9520-92d01dca0625",
		"application jira-core=92d01dca0625-42c8-42c8-9520-276f955c"}},
	"cloud/approximate-count.openapi.json": {run: "approximate count", want: []string{"count=153"}},
	"cloud/attachment-meta.openapi.json": {run: "attachment metadata", want: []string{
		"attachment 10000=picture.jpg image/jpeg 23123 2022-10-06T07:32:47Z", "content~/rest/api/3/attachment/content/10000"}},
	"cloud/auditing-record.openapi.json": {run: "audit records", want: []string{"deletions=", "hits GET /rest/api/3/auditing/record=1"}},
	// 228 records of a total of 229: the client asks for the rest (glue:
	// an empty page). None is an issue deletion.
	"cloud/auditing-record.server-8.16.go-jira.json": {run: "audit records", want: []string{"deletions=", "hits GET /rest/api/3/auditing/record=2"}},
	"cloud/bulkfetch.openapi.json": {run: "bulkfetch", want: []string{"issues=3",
		"issue EX-1 id=10002", "issue EX-1 project=10000", "issue EX-1 summary=My first example issue", "issue EX-1 assignee=5b10a2844c20165700ede21g",
		"issue EX-2 id=10005", "issue EX-2 project=10001", "issue EX-4 project=10002", "issue EX-4 summary=My fourth example issue"},
		artifact: "EX-2 and EX-4 share the id 10005 (issue ids are unique)"},
	"cloud/comment-added.openapi.json": {run: "comment added", want: []string{"comment 10000 author=5b10a2844c20165700ede21g",
		"comment 10000 created=2021-01-17T12:34:00Z", "comment 10000 updated=2021-01-18T23:45:00Z",
		"comment 10000 visibility=role:Administrators:Administrators", "comment 10000 body~Lorem ipsum dolor sit amet"}},
	"cloud/comment-property.openapi.json": {run: "comment property", want: []string{`value~"system.conversation.id":"b1bf38be-5e94-4b40-a3b8-9278735ee1e6"`, `value~"system.support.time":"1m"`}},
	"cloud/comments-page.openapi.json": {run: "comments", want: []string{"comments=1", "comment 10000 author=5b10a2844c20165700ede21g",
		"comment 10000 created=2021-01-17T12:34:00Z", "comment 10000 visibility=role:Administrators:Administrators", "comment 10000 body~Pellentesque eget venenatis elit"}},
	"cloud/group-bulk.openapi.json": {run: "groups", want: []string{"groups=2",
		"group 276f955c-63d7-42c8-9520-92d01dca0625=jdog-developers", "group 6e87dc72-4f1f-421f-9382-2fee8b652487=juvenal-bot"}},
	// The example is a middle page (startAt 3 of 5); glue answers the rest empty.
	"cloud/group-member.openapi.json": {run: "group members", want: []string{"members=5b10a2844c20165700ede21g,5b10a0effa615349cb016cd8"}},
	"cloud/groups-picker.openapi.json": {run: "dc groups", want: []string{
		"group 276f955c-63d7-42c8-9520-92d01dca0625=jdog-developers", "group 6e87dc72-4f1f-421f-9382-2fee8b652487=juvenal-bot"},
		artifact: `header says "Showing 20 of 25 matching groups" and total is 25, but the example lists 2 groups`},
	"cloud/issue-property.openapi.json": {run: "issue property", want: []string{`value~"system.support.time":"1m"`}},
	"cloud/issue.openapi.json": {run: "issue", want: []string{"issue ED-1 id=10002", "issue ED-1 project=10000", "issue ED-1 projectKey=EX",
		"issue ED-1 description=Main order flow broken", "issue ED-1 attachment 10000=picture.jpg image/jpeg 23123 2022-10-06T07:32:47Z",
		"issue ED-1 fieldError comment~unexpected array", "issue ED-1 updated=1970-01-01T00:00:00.001Z"},
		artifact: `fields.comment is a bare array of comments (Jira sends a page object {comments, total}) and fields.updated is the number 1 (a date-time string elsewhere); the comment field is recorded, the issue kept`},
	"cloud/issuesecurityschemes-members.openapi.json": {run: "security level members", want: []string{
		"level 10020 holder=user:5b10a2844c20165700ede21g", "level 10020 holder=group:9c559b11-6c5d-4f96-992c-a746cabab28b", "level 10021 holder=assignee"}},
	"cloud/myself.openapi.json":           {run: "myself", want: []string{"user 5b10a2844c20165700ede21g=Mia Krystof <mia@example.com> active=true atlassian", "self=5b10a2844c20165700ede21g//"}},
	"cloud/permissionscheme.go-jira.json": {run: "permission scheme", want: []string{"browse holders=2", "browse holder=projectRole:10302", "browse holder=group:FooBarGroup"}},
	// No BROWSE_PROJECTS grant in this example: nobody may browse.
	"cloud/permissionscheme.openapi.json":                 {run: "permission scheme", want: []string{"browse holders=0"}},
	"cloud/project-issuesecuritylevelscheme.openapi.json": {run: "security level scheme", want: []string{"level 10021=Reporter Only", "-level 10021 holder"}},
	"cloud/project-permissionscheme.openapi.json":         {run: "project permission scheme", want: []string{"hits GET /rest/api/3/permissionscheme/10000=1", "browse holders=0"}},
	"cloud/project-role.openapi.json":                     {run: "role", want: []string{"role 10360=Developers users=5b10a2844c20165700ede21g groups=952d12c3-5b5b-4d04-bb32-44d383afc4b2"}},
	"cloud/project-roles.openapi.json":                    {run: "role list", want: []string{"role 10000=Developers users= groups=", "role 10001=Users users= groups=", "role 10002=Administrators users= groups="}},
	// isLast false, total 7: the client asks for the next page (glue: empty, last).
	"cloud/project-search.openapi.json": {run: "projects", want: []string{"projects=2", `project 10000=EX "Example" lead=`, `project 10001=ABC "Alphabetical" lead=`}},
	"cloud/search-jql.openapi.json": {run: "search/jql", want: []string{"ids=10002", "-next",
		"issue ED-1 id=10002", "issue ED-1 description=Main order flow broken", "issue ED-1 attachment 10001=debuglog.txt text/plain 2460 2023-06-24T19:24:50Z",
		"issue ED-1 fieldError comment~unexpected array"},
		artifact: `a v3 answer whose fields.description is a plain string (v3 sends ADF), whose fields.comment is a bare array, and whose fields.updated is the number 1`},
	"cloud/transitions.openapi.json": {run: "transitions", want: []string{"transition 2=Close Issue -> In Progress", "transition 711=QA Review -> Closed"}},
	"cloud/user-groups.openapi.json": {run: "user groups", want: []string{"error~cannot unmarshal object"},
		artifact: "GET /user/groups answers an array of groups; the example is a single group object, which the client rejects with a clear error"},
	"cloud/users-search.openapi.json": {run: "users", want: []string{"user 5b10a2844c20165700ede21g=Mia Krystof <> active=false atlassian", "user 5b10ac8d82e05b22cc7d4ef5=Emma Richards <> active=false atlassian"}},
	"cloud/webhook-list.openapi.json": {run: "webhook list", want: []string{
		`webhook 10000=https://your-app.example.com/webhook-received jira:issue_updated,jira:issue_created jql="project = PRJ" expires=2019-06-01T12:42:30Z`,
		`webhook 10001=https://your-app.example.com/webhook-received jira:issue_created jql="issuetype = Bug" expires=2019-06-01T12:42:30Z`,
		`webhook 10002~issue_property_set jql="project = PRJ"`}},
	"cloud/webhook-refresh.openapi.json": {run: "webhook refresh", want: []string{"expires=2019-06-01T12:42:30Z"}},
	// One of three registrations failed: the ids that were made and the error are both reported.
	"cloud/webhook-register.openapi.json": {run: "webhook register", want: []string{"created=[1000 1001]", "error~The clause watchCount is unsupported"}},

	// --- Jira Data Center / Server REST answers ---
	"dc/auditing-events-page1.elastic.json": {run: "dc audit page 1", want: []string{"deletions=", "hits GET /rest/auditing/1.0/events=2"}},
	"dc/auditing-events-page2.elastic.json": {run: "dc audit page 2", want: []string{"deletions=", "hits GET /rest/auditing/1.0/events=1"}},
	"dc/comments-page.mcp-atlassian.json": {run: "dc comments", want: []string{"comments=5",
		"comment 10101 author=account-id-1", "comment 10101 created=2023-01-15T09:14:01.24Z", "comment 10101 updated=2023-01-15T09:14:15.433Z",
		"comment 10101 body~we need to update the configuration settings", "comment 10105 author=account-id-3", "comment 10105 created=2023-01-20T11:10:38.167Z"}},
	"dc/group-member.go-jira.json": {run: "dc group members", want: []string{"members=michael,alex"}},
	"dc/issue-rendered.jira-to-matrix.json": {run: "dc issue", want: []string{"issue INDEV-6 id=26313", "issue INDEV-6 project=10105",
		"issue INDEV-6 summary=Prueba de creación de tareas en un proyecto público", "issue INDEV-6 description=Prueba de creación de tareas en un proyecto público",
		"issue INDEV-6 status=К выполнению", "issue INDEV-6 priority=Highest", "issue INDEV-6 created=2018-12-05T11:32:11.571Z", "issue INDEV-6 updated=2018-12-19T14:44:56.712Z",
		"issue INDEV-6 reporter=5b912f5c8a96e82b9549361c", "issue INDEV-6 comments=3", "issue INDEV-6 comment 10749 created=2018-12-19T09:29:44.131Z",
		"issue INDEV-6 comment 10750 body=Proyecto público - puede asignar", "issue INDEV-6 comment 10752 body=Proyecto limitada - no se puede asignar",
		"issue INDEV-6 comment 10749 body~Proyecto privado"},
		artifact: "renderedFields.comment lists comment 31039 where fields.comment has 10749 (ids anonymised by the source); 10749 keeps its wiki source"},
	"dc/issue-with-security.django-flutter.json": {run: "dc issue", want: []string{"issue EVA-49 id=148844", "issue EVA-49 security=10101", "issue EVA-49 project=10112",
		"issue EVA-49 labels=to_myth", "issue EVA-49 created=2022-10-03T17:17:30.139Z", "issue EVA-49 updated=2022-10-14T09:32:45.576Z",
		"issue EVA-49 description=Flutter task description. FF. ААА ggg", "issue EVA-49 reporter=5db82b13a766000da47cbfc7"}},
	"dc/issue.go-jira.json": {run: "dc issue", want: []string{"issue EX-1 id=10002", "issue EX-1 project=10000", "issue EX-1 description=example bug report",
		"issue EX-1 updated=2016-04-06T09:36:53.594Z", "issue EX-1 comment 10000 author=fred", "issue EX-1 comment 10000 created=2016-03-16T04:22:37.356Z",
		"issue EX-1 comment 10000 visibility=role:Administrators:Administrators",
		"issue EX-1 attachment 10000=picture.jpg image/jpeg 23123 2016-03-16T04:22:37.461Z", "-issue EX-1 fieldError"},
		artifact: "the attachment has no id (the reference example's content URL …/attachments/10000 carries it)"},
	"dc/issue.jira-to-matrix.json": {run: "dc issue", want: []string{"issue BBCOM-1398 id=11442", "issue BBCOM-1398 project=10105",
		"issue BBCOM-1398 assignee=5b912f5c8a96e82b9549361c", "issue BBCOM-1398 created=2018-12-05T11:32:11.571Z", "issue BBCOM-1398 updated=2018-12-19T09:36:15.507Z",
		"issue BBCOM-1398 comments=3", "issue BBCOM-1398 commentTotal=3", "issue BBCOM-1398 comment 10752 created=2018-12-19T09:36:15.507Z"}},
	"dc/project-role.go-jira.json":    {run: "dc role", want: []string{"role 10002=Administrator users= groups=jira-administrators"}},
	"dc/project.apache.go-jira.json":  {run: "dc project bean", want: []string{"projects=1", `project 12310505=ABDERA "Abdera" lead=rooneg`}},
	"dc/projects.apache.go-jira.json": {run: "dc projects", want: []string{"projects=567", `project 10730=AGILA " Agila" lead=`, `project 12310505=ABDERA "Abdera" lead=`}},
	"dc/search.mcp-atlassian.json": {run: "dc search", want: []string{"total=34", "issues=1", "issue PROJ-123 id=12345", "issue PROJ-123 project=10000",
		"issue PROJ-123 summary=Test Issue Summary", "issue PROJ-123 status=In Progress", "issue PROJ-123 statusCategory=indeterminate",
		"issue PROJ-123 created=2024-01-01T10:00:00Z", "issue PROJ-123 updated=2024-01-02T15:30:00Z", "issue PROJ-123 comment 10000 body=This is a test comment",
		"issue PROJ-123 comment 10000 created=2024-01-01T12:00:00Z"}},
	"dc/transitions.jira-to-matrix.json": {run: "dc transitions", want: []string{"transition 2=Close Issue -> In Progress", "transition 711=QA Review -> Closed"}},
	"dc/user-search.go-jira.json":        {run: "dc users", want: []string{"user fred=Fred F. User <fred@example.com> active=true atlassian"}},

	// --- Webhook deliveries ---
	"webhooks/cloud-comment-created.jira-bot.json": {run: "webhook", want: []string{"event=comment_created", "issue.id=10509", "issue.key=TALK-132", "comment.id=10274",
		"timestamp=2021-08-11T10:19:06.887Z", "actor=557058:bf39af2f-2a15-473b-ba9b-fecfcab48e41//", "issue TALK-132 project=10031",
		"issue TALK-132 assignee=557058:bf39af2f-2a15-473b-ba9b-fecfcab48e41", "comment 10274 body=ttt", "comment 10274 created=2021-08-11T10:19:06.887Z"}},
	"webhooks/cloud-comment-deleted.jira-bot.json": {run: "webhook", want: []string{"event=comment_deleted", "issue.id=10531", "issue.key=TALK-141", "comment.id=10293",
		"timestamp=2021-08-11T18:55:31.809Z", "comment 10293 created=2021-08-11T18:00:22.287Z"}},
	"webhooks/cloud-issue-updated-attachment.jira-bot.json": {run: "webhook", want: []string{"event=jira:issue_updated", "issue.id=10328", "issue.key=CRM-8",
		"actor=60b8a7caa5be0a0069f3301f//", "issue CRM-8 attachment 10192=1.png image/png 17319 2021-08-13T12:43:28.79Z",
		"issue CRM-8 created=2021-07-06T15:23:08.506Z", "issue CRM-8 updated=2021-08-13T12:43:29.284Z"}},
	"webhooks/cloud-issue-updated-security.django-flutter.json": {run: "webhook", want: []string{"event=jira:issue_updated", "issue.id=148844", "issue.key=EVA-49",
		"issue EVA-49 security=10101", "issue EVA-49 created=2022-10-03T17:17:30.139Z", "actor=5db82b13a766000da47cbfc7//"}},
	"webhooks/issue-created.jira-to-matrix.json": {run: "webhook", want: []string{"event=jira:issue_created", "issue.id=30369", "issue.key=BBCOM-1398",
		"actor=//jira_test", "-timestamp", "issue BBCOM-1398 description=Info", "issue BBCOM-1398 created=2018-01-11T10:08:03.317Z"},
		artifact: `timestamp is the string "2018-1-11 13:08:04,225" (the source's log format, no zone; Jira sends epoch milliseconds): no instant is read from it`},
	// Server 7: the users carry only their self URL (?username=).
	"webhooks/issue-updated-commented.jira-to-matrix.json": {run: "webhook", want: []string{"event=jira:issue_updated", "issue.id=26313", "issue.key=BBCOM-956",
		"comment.id=31023", "actor=//jira_test", "timestamp=2017-11-29T16:37:19.683Z", "issue BBCOM-956 reporter=jira_test", "issue BBCOM-956 commentTotal=88",
		"issue BBCOM-956 created=2017-09-08T08:43:48.626Z", "comment 31023 author=jira_test", "comment 31023 body=111"}},
	"webhooks/issue-updated-move-issue.jira-to-matrix.json": {run: "webhook", want: []string{"issue.id=12490", "issue.key=INDEV-130", "actor=5c07f55ba1b46046f530e0f3//",
		"issue INDEV-130 updated=2019-02-27T10:30:21.153Z"}, artifact: "timestamp is a formatted string without zone (the source's log format)"},
	"webhooks/issue-updated-status-changed.jira-to-matrix.json": {run: "webhook", want: []string{"issue.id=11442", "issue.key=INDEV-6", "issue INDEV-6 status=In Progress",
		"issue INDEV-6 assignee=5b912f1c1aa25f2be7d36947"}, artifact: "timestamp is a formatted string without zone (the source's log format)"},
	// Neither event names an issue: the receiver acknowledges and ignores them.
	"webhooks/issuelink-created.jira-to-matrix.json": {run: "webhook", want: []string{"event=issuelink_created", "-issue.id", "-issue.key"},
		artifact: "timestamp is a formatted string without zone (the source's log format)"},
	"webhooks/project-created.jira-to-matrix.json": {run: "webhook", want: []string{"event=project_created", "-issue.id", "-issue.key"},
		artifact: "timestamp is a formatted string without zone (the source's log format)"},
	// Jira Server 7: no issue object; the issue id is in comment.self.
	"webhooks/server-comment-created.jira-to-matrix.json": {run: "webhook", want: []string{"event=comment_created", "issue.id=26313", "comment.id=31039",
		"actor=//ii_ivanov", "timestamp=2017-11-30T09:28:04.304Z", "comment 31039 author=ii_ivanov", "comment 31039 created=2017-11-30T09:28:04.304Z", "comment 31039 body=12345"}},
	"webhooks/server-comment-deleted.jira-to-matrix.json": {run: "webhook", want: []string{"event=comment_deleted", "issue.id=11961", "issue.key=INDEV-28",
		"comment.id=10757", "actor=5b912e21fa38ae2c896099ae//", "comment 10757 updated=2018-12-20T12:41:13.803Z"},
		artifact: "timestamp is a formatted string without zone (the source's log format)"},
	"webhooks/server-comment-updated.jira-to-matrix.json": {run: "webhook", want: []string{"event=comment_updated", "issue.id=11961", "issue.key=INDEV-28",
		"comment.id=10757", "comment 10757 created=2018-12-19T10:33:48.447Z"},
		artifact: "timestamp is a formatted string without zone (the source's log format)"},
}

// TestRealJiraFixtures runs every file of ../shared/realjira/fixtures through
// the client (over httptest), the converter or the webhook parser, and checks
// the facts of the table above. Files without a table entry, and entries
// without a file, fail.
func TestRealJiraFixtures(t *testing.T) {
	shared := os.Getenv("SWITCHYARD_SHARED")
	if shared == "" {
		t.Skip("SWITCHYARD_SHARED is not set: the real-material suite needs shared/realjira/fixtures (scripts/test sets it when ../shared exists)")
	}
	root := filepath.Join(shared, "realjira", "fixtures")
	var files []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
			rel, _ := filepath.Rel(root, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("SWITCHYARD_SHARED is set but %s has no fixtures: %v", root, err)
	}
	sort.Strings(files)
	onDisk := map[string]bool{}
	var artifacts []string
	for _, name := range files {
		onDisk[name] = true
		fx, ok := realFixtures[name]
		if !ok {
			t.Errorf("%s: no entry in the fixture table", name)
			continue
		}
		run := runners[fx.run]
		if run == nil {
			t.Errorf("%s: unknown runner %q", name, fx.run)
			continue
		}
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(root, name))
			if err != nil {
				t.Fatal(err)
			}
			h := &harness{t: t, fs: newFixtureServer(t)}
			got, err := run(h, raw)
			if err != nil {
				got = append(got, "error="+err.Error())
			}
			want := fx.want
			if fx.run == "adf" {
				want = append([]string{"-lost"}, want...)
			}
			if err != nil && !slicesContainsPrefix(want, "error") {
				t.Errorf("unexpected error: %v", err)
			}
			for _, w := range want {
				if !match(w, got) {
					t.Errorf("want %q; got:\n  %s", w, strings.Join(got, "\n  "))
				}
			}
		})
		if fx.artifact != "" {
			artifacts = append(artifacts, name+": "+fx.artifact)
		}
	}
	for name := range realFixtures {
		if !onDisk[name] {
			t.Errorf("%s: in the fixture table but not in %s", name, root)
		}
	}
	t.Logf("%d fixtures run; %d contradict their own schema (ARTIFACT, the client's handling is checked above):\n  %s",
		len(files), len(artifacts), strings.Join(artifacts, "\n  "))
}

func slicesContainsPrefix(xs []string, prefix string) bool {
	for _, x := range xs {
		if strings.HasPrefix(x, prefix) {
			return true
		}
	}
	return false
}
