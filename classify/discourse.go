package classify

import (
	"regexp"
	"strings"
)

// Discourse: what a ticket does with its topic. "My account was locked
// yesterday, problem solved" is about an unlock but asks for none; so do a
// forwarded expiry notice, "how do I change my password", "please
// investigate why my account keeps locking" and a login failure in another
// system. These abstain whatever the topic's confidence, with a reason the
// approver and the console show.
const (
	ReasonResolved      = "resolved"      // the problem is already solved
	ReasonInformational = "informational" // a notice or FYI that asks for nothing
	ReasonQuestion      = "question"      // asks about a policy or a procedure
	ReasonInvestigation = "investigation" // asks someone to find out why
	ReasonOtherSystem   = "other_system"  // about another system than the runbook's
	ReasonOtherRequest  = "other_request" // on the topic, but asks for another change
)

// cue is one discourse pattern. The patterns are written for whole
// sentences and for the terse, stop-word-stripped style of forwarded help
// desk mail ("issue already solved by", "let how change").
type cue struct {
	reason string
	what   string // how the explanation names it
	re     *regexp.Regexp
	// unless, when it matches too, cancels the cue (an expiry notice
	// forwarded by someone already locked out still asks for a reset).
	unless *regexp.Regexp
	// unlessAfter cancels the cue when it matches the text after the cue:
	// "was reset last month, now expired, please reset it" asks again.
	unlessAfter *regexp.Regexp
	// unlessBefore cancels the cue when it matches the words just before
	// it: "please advise" asks, "called, advised her" reports advice given.
	unlessBefore *regexp.Regexp
}

func rx(s string) *regexp.Regexp { return regexp.MustCompile(`(?i)` + s) }

// notNegated: the cue's words must not follow "not" / "still" ("not
// solved", "still not fixed" are no resolution).
var negatedBefore = rx(`\b(?:not|n't|never|no|still|yet|unable|cannot|can't|couldn't|isn't|wasn't|hasn't|haven't)\s+(?:\w+\s+)?$`)

var cues = []cue{
	{reason: ReasonResolved, what: "already resolved", re: rx(`\b(?:problem|issue|query|it|this|that)\s+(?:is\s+|was\s+|has\s+been\s+|got\s+|have\s+been\s+|now\s+|successfully\s+)*(?:already\s+)?(?:solved|resolved|fixed|sorted(?:\s+out)?)\b`)},
	{reason: ReasonResolved, what: "already resolved", re: rx(`\b(?:already|successfully)\s+(?:been\s+)?(?:solved|resolved|fixed|sorted|unlocked|reset|disabled|deactivated|created|added|removed|done)\b`)},
	{reason: ReasonResolved, what: "already resolved", re: rx(`\b(?:solved|resolved|fixed)\s+(?:it\s+)?(?:by|with the help|thanks to)\b`)},
	// An agent logging work done ("had reset her password, unlocked ad"):
	// the ticket records the fix rather than asking for it.
	{reason: ReasonResolved, what: "already done", re: rx(`\b(?:had|has\s+been|have\s+been|was|were)\s+(?:already\s+)?(?:reset|unlocked|re-?enabled)\b`),
		unlessAfter: askedAgainRe},
	{reason: ReasonResolved, what: "already resolved", re: rx(`\bhelped\s+(?:me\s+|us\s+|him\s+|her\s+)?(?:to\s+)?(?:solve|resolve|fix|unlock)\b`)},
	{reason: ReasonResolved, what: "already resolved", re: rx(`\b(?:works?|working)\s+(?:again|now|fine\s+now)\b|\bmanaged\s+(?:to\s+)?(?:log|sign|get\s+in)`)},
	// Advice logged as given ("called, advised she change it", "advised by
	// the desk during a walk"): the desk answered, nothing is asked. "Please
	// advise" and "as advised" ask or continue; "advised over the phone"
	// reports what the caller said.
	{reason: ReasonResolved, what: "advice already given", re: rx(`\badvised\b`),
		unlessBefore: rx(`\b(?:please|pls|kindly|be|as|you|to|if|could|can|would)\s+$|\b(?:i|we)\s+(?:was|were|am|are|have\s+been|had\s+been|'ve\s+been)\s+$`),
		unlessAfter:  rx(`^\s+(?:over|via|on\s+(?:the\s+)?(?:phone|call)|that\s+(?:he|she|they|the\s+user)\s+(?:is|was|are|were|can(?:not|'t)?))\b|` + newRequest)},
	// Thanks for the fix, sent as a reply: the ticket closes itself.
	{reason: ReasonResolved, what: "thanks for the fix", re: rx(`\byou\s+rock\b|\bthanks?\s+(?:you\s+)?(?:(?:so|very)\s+much\s+)?for\s+(?:working|fixing|sorting|resolving|solving|unlocking|resetting)\b`),
		unlessAfter: newRequestRe},
	// The desk's reply that hands over the credentials: the reset is done.
	{reason: ReasonResolved, what: "credentials already sent", re: rx(`\b(?:below|attached|here)\s+(?:you\s+)?(?:will\s+)?find\s+(?:your\s+|the\s+)?(?:new\s+|temporary\s+)?(?:credentials|password)\b|\byour\s+(?:new|temporary)\s+password\s+is\b|\byou\s+(?:have\s+)?been\s+granted\s+access\b|\byou\s+have\s+granted\s+access\b`),
		unlessAfter: newRequestRe},
	// A subject that ends in "resolved" ("ad account is locked resolved"):
	// the desk's own closing note, unless the ticket asks again.
	{reason: ReasonResolved, what: "already resolved", re: rx(`^\W*(?:\w+\W+){1,8}?(?:resolved|solved|fixed)(?:[^\w-]|$)`),
		unlessAfter: newRequestRe},
	{reason: ReasonResolved, what: "no longer needed", re: rx(`\bno\s+longer\s+(?:needed|required|necessary)\b|\b(?:not\s+needed|not\s+required)\s+any\s?more\b|\b(?:please\s+)?close\s+(?:this|the)\s+ticket\b`)},

	{reason: ReasonInformational, what: "a notice, for information", re: rx(`\bfor\s+your\s+information\b|\bfyi\b|\bno\s+action\s+(?:is\s+)?(?:needed|required)\b|\bjust\s+(?:to\s+)?(?:let\s+you\s+know|inform)`)},
	// An expiry notice: the password still works and its owner can change
	// it; a reset is needed only once it has expired or locked them out.
	{reason: ReasonInformational, what: "a password-expiry notice", re: rx(`\bpassword\s+(?:will\s+)?expires?\s+(?:in\s+)?(?:\d+\s+)?(?:days?|today|tomorrow|soon)\b|\bexpires?\s+(?:in\s+)?(?:\d+\s+)?days\b|\bpasswords?\s+(?:\w+\s+){0,2}expir(?:y|ation)\s+(?:notifications?|notices?|warnings?|reminders?)\b|\bpasswords?\s+(?:\w+\s+){0,3}about\s+(?:to\s+)?expire\b`),
		unless: rx(`\b(?:has|have|had|is|was)\s+(?:already\s+)?expired\b|\bexpired\s+(?:yesterday|already|while)\b|\b(?:cannot|can't|can\s?not|unable\s+to)\s+(?:log|sign)|\blocked\b`)},

	{reason: ReasonQuestion, what: "a how-to or policy question", re: rx(`\bfind\s+(?:a\s+)?way\s+(?:to\s+|how\s+to\s+)?(?:change|renew|update)\b|\bhow\s+(?:do\s+i\s+|can\s+i\s+|do\s+we\s+|can\s+we\s+|should\s+i\s+|to\s+|could\s+i\s+|i\s+can\s+)?(?:change|renew|update|set\s+up|obtain)\b`)},
	{reason: ReasonQuestion, what: "a how-to or policy question", re: rx(`\bsteps\s+(?:to\s+|for\s+)?(?:change|changing|reset|resetting)\b|\bpassword\s+(?:policy|rules|requirements|complexity)\b|\bwhat\s+(?:is|are)\s+the\s+(?:password\s+)?(?:policy|rules|requirements)\b`)},

	{reason: ReasonInvestigation, what: "a request to investigate", re: rx(`\binvestigat(?:e|ion|ing)\b|\broot\s+cause\b`)},
	{reason: ReasonInvestigation, what: "a request to investigate", re: rx(`\b(?:check|find\s+out|understand|explain|know|tell\s+(?:me|us))\s+why\b|\bwhy\s+(?:does|do|did|is|was)?\s*(?:my\s+|the\s+|his\s+|her\s+)?(?:account|it|user)?\s*(?:keeps?|gets?|got|getting|being)\s+(?:\w+\s+)?locked\b`)},
	{reason: ReasonInvestigation, what: "a recurring problem to investigate", re: rx(`\bkeeps?\s+(?:on\s+)?(?:getting\s+|being\s+)?lock(?:ed|ing)\b|\bconstantly\s+(?:being\s+|getting\s+)?lock|\brecurr(?:ent|ing)\b|\bagain\s+and\s+again\b`)},
	// An intermittent failure ("credentials very often not recognised,
	// tools blocked"): someone must look why, unless a plain request follows.
	{reason: ReasonInvestigation, what: "a recurring problem to investigate", re: rx(`\b(?:very\s+often|from\s+time\s+to\s+time|intermittent(?:ly)?)\b(?:\W+\w+){0,8}?\W+(?:lock\w*|block\w*|not\s+recogni[sz]ed|fail\w*|drops?|disconnect\w*)\b`),
		unlessAfter: newRequestRe},
}

// askedAgainRe is a request, or a relapse, after a fix was reported: the
// ticket asks for the runbook again.
const askedAgain = `\b(?:please|pls|can\s+you|could\s+you|kindly)\b.*\b(?:reset|unlock|unblock|re-?enable)|\bagain\b|\b(?:now\s+)?expired\b|\bdoes\s*n[o']?t\s+work|\bnot\s+working\b`

var askedAgainRe = rx(askedAgain)

// newRequest is any runbook's request after a report of something done
// ("thanks for resolving my last ticket, could you add me to …"): the
// report does not close the ticket then.
const newRequest = askedAgain + `|\b(?:please|pls|can\s+you|could\s+you|kindly|need|would\s+like|want)\b.*\b(?:add|create|disable|deactivate|assign|give|grant|remove|set\s?up|provide|reset|unlock)\b`

var newRequestRe = rx(newRequest)

// otherRequests are changes to the process or the object itself, not the
// runbook's action: renaming or re-owning a group, moving a leaver's date,
// re-assigning a form. Keyed by the intent they are near.
var otherRequests = map[string]*regexp.Regexp{
	"group_membership": rx(`\b(?:rename|renaming|ownership|owners?|create\s+(?:a\s+)?(?:new\s+)?(?:mailing|distribution|group|list)|new\s+(?:mailing|distribution)\s+(?:list|group)|delete\s+(?:the\s+)?(?:mailing|distribution|group|list)|shared\s+mailbox|recover|block(?:ed|ing)?\s+(?:domains?|senders?|address))\b`),
	"offboarding":      rx(`\b(?:re-?assign(?:ed)?|(?:leave|end|leaving)\s+date\s+(?:has\s+)?changed|(?:update|change|changed)\s+(?:the\s+)?(?:leave|end|leaving)\s+date|stop\s+(?:the\s+)?process|fill\s+(?:in\s+|out\s+|and\s+|submit\s+)*(?:the\s+|a\s+|bulk\s+)*leaver\s+form|no\s+(?:\w+\s+)?tickets?\s+(?:were\s+)?(?:created|found)|no\s+(?:\w+\s+){0,2}notifications?\s+(?:was\s+|were\s+)?(?:received|sent)|notifications?\s+(?:was\s+|were\s+)?not\s+(?:received|sent))\b`),
	// A non-starter ("non starter", "will not join") stops the process.
	"new_hire_provisioning": rx(`\b(?:re-?assign(?:ed)?|transfer\s+(?:form|request)|file\s+share|shared\s+folder|seat(?:ed|ing)?|floor\s+number|no\s+(?:\w+\s+)?tickets?\s+(?:were\s+)?(?:created|found)|screen\s+name|name\s+change|non[-\s]?starters?|(?:will\s+not|won'?t|is\s+not|isn'?t|no\s+longer)\s+(?:be\s+)?(?:start|join)\w*)\b`),
	// A password that works somewhere, a prompt that keeps asking, a change
	// the directory refuses (complexity, a failing reset) or a disabled
	// account: none is fixed by issuing a new password.
	"password_reset":          rx(`\bpassword\s+(?:works|worked|is\s+(?:correct|fine|right|valid|ok))\b|\bcan\s+(?:log|sign)\s+(?:in\s+|into\s+|on\s+)?(?:\w+\s+)?with\s+(?:the\s+|my\s+|same\s+)?password\b|\b(?:keeps?|continues?|still)\s+(?:on\s+)?asking\s+(?:me\s+)?(?:for\s+)?(?:the\s+)?(?:credentials|password|to\s+log)|\bnever\s+expires?\b|\bcomplexity\s+requirements\b|\bcannot\s+be\s+reset\b|\bdisabled\s+(?:user|account)\b|\b(?:user|account)\s+(?:is\s+|was\s+)?disabled\b`),
	"m365_license_assignment": rx(`\b(?:help\s+(?:me\s+|us\s+)?(?:to\s+)?(?:download|install)|how\s+(?:do\s+i\s+|to\s+)?(?:download|install)|installation\s+(?:details|package|key|guide|file)|installer|serial\s+number|licen[cs]e\s+key|product\s+key|purchase|buy)\b`),
	// Project, cost and booking codes are finance's, not a second factor's.
	"mfa_reset":      rx(`\b(?:headset|telephone|tethering|block\s+(?:the\s+)?(?:sim|card)|desk\s+phone|ip\s+phone|(?:project|cost|oracle|billing|booking|activity)\s+codes?)\b`),
	"account_unlock": rx(`\b(?:partition|field|screen|file|document|opportunit\w*|card|timecard|padlocks?|bit\s?locker)\s+(?:is\s+|are\s+)?(?:locked|blocked)\b|\b(?:locked|blocked)\s+(?:field|partition|screen|file|document|card)\b`),
}

var (
	joinerListOnlyRe  = rx(`\badd(?:ed)?\s+(?:\w+\s+){0,4}?(?:mailing|distribution)(?:\s+lists?|\s+groups?)?\b`)
	accountCreationRe = rx(`\b(?:create|creating|set\s?up|setting\s+up|accounts?|credentials|starter\s+form|joiner\s+form|new\s+user|provision\w*|laptop|email\s+address)\b`)
)

// membershipChangeRe is any word that says a membership is to be given or
// taken away: the verbs groupOperation reads, their nouns, and "access".
var membershipChangeRe = rx(`\b(?:add(?:s|ed|ing|ition)?|include|put|grant(?:ed)?|give|assign(?:ed)?|rights|permissions?|join|subscribe|enrol{1,2}|members?|membership|access|need\s+to\s+be\s+in|be\s+(?:in|on)|remov(?:e|ed|ing|al)|take\s+(?:\w+\s+)?(?:off|out)|revoke|delete|drop|off\s+of|out\s+of|no\s+longer|shouldn'?t\s+be|should\s+not\s+be|leave|unsubscribe)\b`)

// otherSystems are systems with their own accounts and passwords: a login
// problem there is not one the corporate directory's runbooks fix. A lost
// or forgotten access card is the building's, not the directory's.
var otherSystemRe = rx(`\b(oracle|fusion|confluence|jira|git|gitlab|github|bitbucket|service\s?now|snow|sap|salesforce|expenses?\s+app|guest\s+(?:wi-?fi|password|account|network)|wi-?fi\s+password|live\s+(?:account|password)|jabber|citrix|certificate|crucible|nexus|sharepoint\s+site|press\s+account|timecards?|time\s?sheets?|payslips?|salary\s+slips?|idea\s+license|visual\s+studio|portal|(?:authentication|access|smart|id|security)\s+cards?)\b`)

// subTasks are the parts of a joiner's or leaver's process that other
// teams run: a ticket about one of them is not the account runbook.
var subTaskRe = rx(`\b(access\s+cards?|badges?|hardware\s+(?:allocation|retrieval|return)|mobile\s+(?:phone|subscription)|seat(?:ing)?|desk|parking|maternity|paternity|child\s+care|inventory)\b`)

// discourseWindow is how far into the ticket the other-system test looks:
// the summary and its first lines say what the ticket is about; a signature
// or a quoted thread further down does not.
const discourseWindow = 14

// discourse returns the reason and explanation when the ticket, though on
// the topic of intent, asks for no run of it now.
func discourse(text, intent string) (reason, why string) {
	lower := strings.ToLower(text)
	for _, c := range cues {
		loc := c.re.FindStringIndex(lower)
		for loc != nil && negatedBefore.MatchString(lower[max(0, loc[0]-30):loc[0]]) {
			next := c.re.FindStringIndex(lower[loc[1]:])
			if next == nil {
				loc = nil
				break
			}
			loc = []int{loc[1] + next[0], loc[1] + next[1]}
		}
		if loc == nil {
			continue
		}
		if c.unless != nil && c.unless.MatchString(lower) || c.unlessAfter != nil && c.unlessAfter.MatchString(lower[loc[1]:]) ||
			c.unlessBefore != nil && c.unlessBefore.MatchString(lower[max(0, loc[0]-30):loc[0]]) {
			continue
		}
		return c.reason, c.what + `: "` + strings.TrimSpace(text[loc[0]:loc[1]]) + `"`
	}
	if re := otherRequests[intent]; re != nil {
		if m := re.FindString(lower); m != "" {
			return ReasonOtherRequest, `asks for another change than the runbook makes: "` + m + `"`
		}
	}
	// A joiner ticket that asks only for a list membership ("new starter …
	// please add to the mobile mailing list") is the group runbook's, not
	// the account creation's.
	if intent == "new_hire_provisioning" && joinerListOnlyRe.MatchString(lower) && !accountCreationRe.MatchString(lower) {
		return ReasonOtherRequest, `asks for a list membership, not the joiner's accounts: "` + joinerListOnlyRe.FindString(lower) + `"`
	}
	// A membership request says which change it wants; "mailing list
	// adjustment" names none, and the runbook must not guess add or remove.
	if intent == "group_membership" && !membershipChangeRe.MatchString(lower) {
		return ReasonOtherRequest, `names no membership change: neither "add" nor "remove"`
	}
	head := firstWords(lower, discourseWindow)
	// Group and licence names are often a system's ("confluence-users",
	// "Power BI"): for them the system is the object, not another system.
	if intent != "mfa_reset" && intent != "group_membership" && intent != "m365_license_assignment" {
		if m := otherSystemRe.FindString(head); m != "" {
			return ReasonOtherSystem, `about another system than the runbook's: "` + m + `"`
		}
	}
	if intent == "offboarding" || intent == "new_hire_provisioning" {
		if m := subTaskRe.FindString(head); m != "" {
			return ReasonOtherSystem, `about a part of the process another team runs: "` + m + `"`
		}
	}
	return "", ""
}

func firstWords(s string, n int) string {
	fs := strings.Fields(s)
	if len(fs) > n {
		fs = fs[:n]
	}
	return strings.Join(fs, " ")
}

// Someone else: "my colleague forgot her password", "unlock the user",
// "reset password for the client". When no account is named, the runbook
// must not fall back to the reporter's: an agent supplies the target.
var (
	thirdPersonRe = rx(`\b(?:called|contacted|rang|phoned|he|him|his|she|her|hers|himself|herself|colleagues?|coworkers?|co-workers?|clients?|customers?|employees?|interns?|contractors?|trainees?|students?|users?|new\s+(?:starters?|joiners?|hires?)|external\s+(?:users?|accounts?)|generic\s+users?|on\s+behalf\s+of)\b`)
	// "user" next to a first person is the reporter's own account.
	// So are "I'm a contractor" and group names like vpn-users.
	selfUserRe = rx(`\b(?:my|mine)\s+(?:\w+\s+)?(?:users?|accounts?)\b|\buser\s?name\b|\b(?:i'?m|i\s+am|as)\s+(?:a|an|the)\s+\w+|[\w.]+[-_][\w.-]+`)
)

// forWhomRe finds whom an account request is for.
var forWhomRe = rx(`\b(?:password|passwords|reset|unlock|unblock|locked|disable|deactivate)\s+(?:\w+\s+)?for\s+(\w+)`)

// selfOrThing are words after "for" that name no other person.
var selfOrThing = toSet(`me my myself mine i the a an this that it okta sso mfa account accounts login logon windows laptop computer pc domain ad network email mail office vpn work access days day weeks months today tomorrow now while long some few several`)

// forSomeoneElse reports the words that make the ticket about another
// person's account, or "" when it reads as the reporter's own.
func forSomeoneElse(text string) string {
	lower := strings.ToLower(text)
	// "my account is locked", "add me to …": the reporter's own account,
	// whoever else the ticket mentions ("a colleague tried to log in as me").
	if selfObjectRe.MatchString(lower) {
		return ""
	}
	if m := thirdPersonRe.FindString(selfUserRe.ReplaceAllString(lower, " ")); m != "" {
		return m
	}
	// "reset the password for Ana Lima": an account named after "for".
	if m := forWhomRe.FindStringSubmatch(lower); m != nil && !selfOrThing[m[1]] {
		return "for " + m[1]
	}
	return ""
}

var selfObjectRe = rx(`\b(?:my|mine)\s+(?:own\s+)?(?:\w+\s+)?(?:account|password|login|log-?in|sign-?in|credentials|mfa|2fa|authenticator|phone|licen[cs]e|mailbox)\b|\b(?:add|remove|unlock|reset|lock(?:ed)?|take)\s+me\b|\bme\s+out\b`)

// focusWords is how much of a ticket classification reads.
const focusWords = 60

// disclaimerRe finds where a mail's legal footer or signature block starts.
var disclaimerRe = rx(`\b(?:important notice|this e-?mail (?:and any|is|may)|the information contained in|information contained (?:in )?(?:this )?communication|confidentiality notice|contains proprietary information|intended (?:solely )?for the (?:use of the )?(?:intended )?(?:addressee|recipient)|intended recipient|please consider (?:the )?environment|registered (?:office|under number)|disclaimer)\b`)

// focus keeps the part of a ticket that says what it asks: up to the first
// legal footer, at most focusWords words.
func focus(text string) string {
	if loc := disclaimerRe.FindStringIndex(text); loc != nil && loc[0] > 0 {
		text = text[:loc[0]]
	}
	n, inWord := 0, false
	for i, r := range text {
		space := r == ' ' || r == '\n' || r == '\t' || r == '\r'
		if !space && !inWord {
			n++
			if n > focusWords {
				return text[:i]
			}
		}
		inWord = !space
	}
	return text
}
