package classify

import (
	"context"
	"strings"

	"switchyard"
)

func (x *extractor) extract(ctx context.Context, t Ticket) (entities, error) {
	var e entities
	text := t.Summary + "\n" + t.Description
	if r := []rune(text); len(r) > maxTextRunes {
		text = string(r[:maxTextRunes])
	}
	reporter := strings.ToLower(strings.TrimSpace(t.ReporterEmail))
	body := headerLineRe.ReplaceAllString(text, "")

	// E-mail addresses: "Email:" lines first, then any address in the body.
	var lineEmails, textEmails []string
	if strings.Contains(body, "@") {
		for _, m := range emailLineRe.FindAllStringSubmatch(body, -1) {
			lineEmails = appendUnique(lineEmails, strings.ToLower(strings.TrimRight(m[1], ".")))
		}
		for _, m := range emailRe.FindAllString(body, -1) {
			m = strings.ToLower(strings.TrimRight(m, "."))
			if systemLocalParts[m[:strings.IndexByte(m, '@')]] {
				continue
			}
			textEmails = appendUnique(textEmails, m)
		}
	}

	// Target user, most explicit evidence first.
	switch {
	case len(lineEmails) > 0:
		e.target = x.userInput(ctx, lineEmails[0], SourceEmailLine)
	case firstNot(textEmails, reporter) != "":
		e.target = x.userInput(ctx, firstNot(textEmails, reporter), SourceEmail)
	}
	if x.dir != nil {
		// Always look names up: they are masked for classification even
		// when an e-mail already settled the target.
		users, err := x.namedUsers(ctx, text, &e)
		if err != nil {
			return e, err
		}
		var self *switchyard.User
		for i := range users {
			if e.target != nil {
				break
			}
			if reporter != "" && strings.EqualFold(users[i].Email, reporter) {
				self = &users[i]
				continue
			}
			e.target = dirUserInput(users[i])
		}
		if e.target == nil && self != nil {
			e.target = dirUserInput(*self)
		}
	}
	if e.target == nil && reporter != "" && contains(textEmails, reporter) {
		e.target = x.userInput(ctx, reporter, SourceEmail)
	}
	if reporter != "" {
		e.fallback = x.userInput(ctx, reporter, SourceReporterFallback)
	}
	// A ticket for someone else never falls back to the reporter's account.
	e.someoneElse = forSomeoneElse(text)

	// A new hire's name and e-mail: they are not in the directory yet.
	if m := nameLineRe.FindStringSubmatch(body); m != nil && cleanName(m[1]) != "" {
		e.name = &Input{Name: InputName, Value: cleanName(m[1]), Source: SourceNameLine}
	} else if m := newHireRe.FindStringSubmatch(body); m != nil && cleanName(m[1]) != "" {
		e.name = &Input{Name: InputName, Value: cleanName(m[1]), Source: SourceName}
	} else if m := joiningRe.FindStringSubmatch(body); m != nil && cleanName(m[1]) != "" {
		e.name = &Input{Name: InputName, Value: cleanName(m[1]), Source: SourceName}
	}
	if len(lineEmails) > 0 {
		e.email = &Input{Name: InputEmail, Value: lineEmails[0], Source: SourceEmailLine}
	} else if em := firstNot(textEmails, reporter); em != "" {
		e.email = &Input{Name: InputEmail, Value: em, Source: SourceEmail}
	}

	if x.dir != nil {
		gs, err := x.namedGroups(ctx, body, &e)
		if err != nil {
			return e, err
		}
		e.groups = gs
	}
	e.skus = findSKUs(body)
	return e, nil
}

// inputsFor picks the inputs an intent needs and reports the missing ones.
func (e entities) inputsFor(in Intent) (inputs []Input, missing []string) {
	for _, r := range in.RequiredInputs {
		n := len(inputs)
		switch r {
		case InputTargetUser:
			if e.target != nil {
				inputs = append(inputs, *e.target)
			} else if in.ReporterFallback && e.fallback != nil && e.someoneElse == "" {
				inputs = append(inputs, *e.fallback)
			}
		case InputName:
			if e.name != nil {
				inputs = append(inputs, *e.name)
			}
		case InputEmail:
			if e.email != nil {
				inputs = append(inputs, *e.email)
			}
		case InputGroup:
			inputs = append(inputs, e.groups...)
		case InputLicenseSKU:
			inputs = append(inputs, e.skus...)
		}
		if len(inputs) == n {
			missing = append(missing, r)
		}
	}
	return inputs, missing
}

func (x *extractor) userInput(ctx context.Context, email, source string) *Input {
	in := &Input{Name: InputTargetUser, Value: email, Source: source}
	if x.dir != nil {
		if u, err := x.dir.UserByEmail(ctx, email); err == nil {
			in.AccountID, in.DisplayName = u.AccountID, u.DisplayName
		}
	}
	return in
}

func dirUserInput(u switchyard.User) *Input {
	v := u.Email
	if v == "" {
		v = u.AccountID // privacy settings hide some e-mails; the id still works
	}
	return &Input{Name: InputTargetUser, Value: v, Source: SourceDirectoryName, AccountID: u.AccountID, DisplayName: u.DisplayName}
}

// notNames are capitalised words that open or close sentences near a name
// ("starting Monday Jane Doe") but are never part of one.
var notNames = toSet(`monday tuesday wednesday thursday friday saturday sunday january february march april may june
july august september october november december please hi hello dear the our new mr mrs ms dr thanks regards team
email e-mail start starts starting date next`)

// cleanName trims words that are not part of a person's name; it returns ""
// unless at least a first and a last name remain.
func cleanName(s string) string {
	ws := strings.Fields(s)
	for len(ws) > 0 && notNames[strings.ToLower(ws[0])] {
		ws = ws[1:]
	}
	for len(ws) > 0 && notNames[strings.ToLower(ws[len(ws)-1])] {
		ws = ws[:len(ws)-1]
	}
	if len(ws) < 2 {
		return ""
	}
	return strings.Join(ws, " ")
}
