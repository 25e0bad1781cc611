package classify

import (
	"errors"
	"strings"
	"testing"

	"switchyard"
)

func TestDiscourse(t *testing.T) {
	tests := []struct {
		name, intent, text, reason string
	}{
		{"resolved", "account_unlock", "My account was locked yesterday, problem solved.", ReasonResolved},
		{"resolved terse", "account_unlock", "account locked issue already solved by colleague thanks", ReasonResolved},
		{"helped", "password_reset", "had password issue this morning, the desk helped resolve it", ReasonResolved},
		{"not resolved", "account_unlock", "My account is locked and the problem is not solved yet, please unlock it", ""},
		{"still not fixed", "password_reset", "The reset link issue is still not fixed, please reset my password", ""},
		{"works again", "password_reset", "Forget it, my password works again", ReasonResolved},
		{"fyi", "offboarding", "For your information: Marco left on Friday, his account was already handled.", ReasonInformational},
		{"expiry notice", "password_reset", "Your password expires in 5 days. Please change it.", ReasonInformational},
		{"expiry notice, terse", "password_reset", "your password expire days importance high please help", ReasonInformational},
		{"expired and locked out", "password_reset", "Your password expires in 0 days... it has expired and I cannot log in, please reset", ""},
		{"how-to", "password_reset", "How do I change my password from home?", ReasonQuestion},
		{"how-to terse", "password_reset", "expired let how change thanks", ReasonQuestion},
		{"policy", "password_reset", "What is the password policy for service accounts?", ReasonQuestion},
		{"investigate", "account_unlock", "Please investigate why my account got locked after I changed my domain password", ReasonInvestigation},
		{"keeps locking", "account_unlock", "My account keeps getting locked every morning", ReasonInvestigation},
		{"other system", "password_reset", "Oracle Fusion password reset please", ReasonOtherSystem},
		{"certificate", "password_reset", "Certificate error after my password reset", ReasonOtherSystem},
		{"system named deep in the thread", "password_reset", "please reset my password, I forgot it over the holidays and cannot sign in to my laptop this morning at all. Sent from Outlook, forwarded to confluence admins", ""},
		{"group named after a system", "group_membership", "Please add me to confluence-users", ""},
		{"joiner sub-task", "new_hire_provisioning", "new starter access card enabling tower", ReasonOtherSystem},
		{"rename group", "group_membership", "Please rename the mailing list for the testers", ReasonOtherRequest},
		{"leaver date moved", "offboarding", "leaver update: leave date has changed to the 31st", ReasonOtherRequest},
		{"password works", "password_reset", "login fails with invalid password, however the password works in the portal", ReasonOtherRequest},
		{"locked field", "account_unlock", "The estimated value field is locked in the opportunity", ReasonOtherRequest},
		{"work logged as done", "account_unlock", "please open a ticket and assign it to me: her domain account was locked, I had reset the password and unlocked ad", ReasonResolved},
		{"not reset yet", "password_reset", "my password was not reset yet, please reset it", ""},
		{"reset, expired again", "password_reset", "my password was reset last month and has now expired, please reset it", ""},
		{"reset, does not work", "password_reset", "my password was reset by the helpdesk yesterday but the new one does not work, please reset it again", ""},
		{"unlocked, locked again", "account_unlock", "my account was unlocked this morning but it is locked again, please unlock it", ""},
		{"old ticket resolved", "password_reset", "my previous ticket was resolved but the problem is back, please reset my password", ""},
		{"self-service reset failed", "password_reset", "self-service password reset failed, please reset my password", ""},
		{"query resolved", "group_membership", "re: removing members from the mailing list. We believe your query has been resolved", ReasonResolved},
		{"password works elsewhere", "password_reset", "cant log with password can log into webmail with password", ReasonOtherRequest},
		{"complexity refused", "password_reset", "tried to change it, says the password does not meet the minimum complexity requirements", ReasonOtherRequest},
		{"reset refused", "password_reset", "cannot password reset fail since end of july: the password cannot be reset, error message", ReasonOtherRequest},
		{"disabled account", "password_reset", "a disabled user requested a password reset", ReasonOtherRequest},
		{"prompt continues", "password_reset", "after I changed my password outlook continues asking for credentials", ReasonOtherRequest},
		{"find a way", "password_reset", "password expiring for external users next tuesday, please find a way to change it", ReasonQuestion},
		{"bulk leaver form to fill", "offboarding", "bulk leavers: hello, please fill and submit the bulk leaver form for the interns", ReasonOtherRequest},
		{"advice logged", "password_reset", "domain password expired, called the user and advised she change it with ctrl alt delete", ReasonResolved},
		{"advised by the desk", "account_unlock", "locked account, outlook keeps asking for credentials, advised by the desk during a walk", ReasonResolved},
		{"please advise", "password_reset", "my password expired, please advise how to get a new one and reset it", ""},
		{"please be advised", "account_unlock", "please be advised my account is locked, please unlock it", ""},
		{"as advised", "password_reset", "as advised by the service desk I raise this ticket: please reset my password", ""},
		{"advised over the phone", "password_reset", "domain account locked, user advised over the phone she is locked out, kindly help her", ""},
		{"advised, still asks", "password_reset", "advised to use self-service but it does not work, please reset my password", ""},
		{"thanks for the fix", "account_unlock", "re: account locked - thank you for unlocking it so quickly", ReasonResolved},
		{"you rock", "account_unlock", "re locked asap you rock thank you", ReasonResolved},
		{"thanks, still broken", "password_reset", "thanks for resetting it but the new password does not work", ""},
		{"thanks in advance", "password_reset", "please reset my password, thanks for your help", ""},
		{"intermittent", "account_unlock", "credentials are very often not recognised and different tools get blocked, please have a look", ReasonInvestigation},
		{"expiry notification", "password_reset", "fwd: password expiration notification for external users - the instructions in it should change for clients", ReasonInformational},
		{"about to expire", "password_reset", "re: your password is about to expire - please change it, kind regards", ReasonInformational},
		{"about to expire, locked", "password_reset", "got the note it was about to expire, now I am locked out, please reset", ""},
		{"lost card", "password_reset", "authentication card loss: lost it, forgot the authentication card at home, got a temporary one", ReasonOtherSystem},
		{"credentials sent", "password_reset", "re: password reset - dear, you have been granted access, below you find the credentials", ReasonResolved},
		{"new password given", "password_reset", "hello, your new password is in the attached note, kind regards", ReasonResolved},
		{"new password fails", "password_reset", "your new password is not working, please reset it again", ""},
		{"no membership change", "group_membership", "mailing list adjustment: hi, please, thank you", ReasonOtherRequest},
		{"membership added", "group_membership", "please add Ana to the finance mailing list", ""},
		{"membership noun", "group_membership", "mailing list addition for the new testers", ""},
		{"membership removal", "group_membership", "removing members from the recruitment list", ""},
		{"project codes", "mfa_reset", "project codes open wrong: oracle codes wrong, please open the right codes", ReasonOtherRequest},
		{"verification code", "mfa_reset", "I no longer get the verification code on my new phone, please reset my MFA", ""},
		{"one-time code", "mfa_reset", "Cannot receive the one time code by text message anymore", ""},
		{"as advised, no later ask", "password_reset", "as advised, password reset request", ""},
		{"reporter was advised", "password_reset", "I was advised by the service desk to raise a ticket for a password reset", ""},
		{"advised by HR, then a request", "offboarding", "I have been advised by HR that John Doe left the company, please disable his account", ""},
		{"thanks, then another request", "group_membership", "Thanks for resolving my last ticket. Could you please add me to the finance distribution list?", ""},
		{"licence about to expire", "m365_license_assignment", "My Office 365 licence is about to expire, please assign a new licence", ""},
		{"often forgets", "password_reset", "I very often forget my password, please reset it", ""},
		{"be on a list", "group_membership", "I need to be on the HR distribution list", ""},
		{"give rights to a list", "group_membership", "Please give John Smith rights to the sales list", ""},
		{"resolved subject", "account_unlock", "ad account is locked resolved", ReasonResolved},
		{"fixed-term", "offboarding", "Offboard - end of contract | Ingrid Larsen's fixed-term contract ends today. Please offboard her.", ""},
		{"not resolved subject", "account_unlock", "ad account is locked not resolved please unlock", ""},
		{"resolved, asks again", "password_reset", "password reset resolved but it expired again, please reset it", ""},
		{"notification missing", "offboarding", "no leaver form notification received by the manager for the leaver", ReasonOtherRequest},
		{"non starter", "new_hire_provisioning", "non starter ad: he is not joining after all, please cancel", ReasonOtherRequest},
		{"leaver inventory", "offboarding", "leaver inventory update for the march leavers", ReasonOtherSystem},
		{"joiner list only", "new_hire_provisioning", "new starter former intern: please add to the mobile mailing list", ReasonOtherRequest},
		{"joiner accounts and lists", "new_hire_provisioning", "new starter monday: please create the accounts and add to the team mailing list", ""},
		{"plain request", "password_reset", "I forgot my password, please reset it", ""},
		{"plain unlock", "account_unlock", "locked account please unlock thanks", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason, why := discourse(tt.text, tt.intent)
			if reason != tt.reason {
				t.Fatalf("discourse(%q) = %q (%s), want %q", tt.text, reason, why, tt.reason)
			}
			if reason != "" && !strings.Contains(why, `"`) {
				t.Errorf("explanation %q does not quote the ticket", why)
			}
		})
	}
}

func TestForSomeoneElse(t *testing.T) {
	tests := []struct {
		text  string
		else_ bool
	}{
		{"My colleague forgot her password", true},
		{"please reset the password for Ana Lima", true},
		{"password reset request called he has issues", true},
		{"reset password for external user", true},
		{"reset password for our client", true},
		{"I forgot my password", false},
		{"Please reset the password for my account", false},
		{"My account is locked, a colleague tried to log in as me", false},
		{"Please add me to vpn-users", false},
		{"I'm a contractor and shouldn't be on dl-all-staff", false},
		{"Too many failed attempts, account locked", false},
		{"reset my password for the VPN", false},
	}
	for _, tt := range tests {
		if got := forSomeoneElse(tt.text) != ""; got != tt.else_ {
			t.Errorf("forSomeoneElse(%q) = %q, want someone else %v", tt.text, forSomeoneElse(tt.text), tt.else_)
		}
	}
}

func TestFocus(t *testing.T) {
	long := strings.Repeat("word ", 100)
	if n := len(strings.Fields(focus(long))); n != focusWords {
		t.Errorf("focus kept %d words, want %d", n, focusWords)
	}
	got := focus("please unlock my account thanks. This e-mail and any attachments are confidential")
	if strings.Contains(got, "confidential") || !strings.Contains(got, "unlock my account") {
		t.Errorf("focus = %q, want the request without the footer", got)
	}
}

func TestSuppliedInput(t *testing.T) {
	tests := []struct {
		name, input, value, want, err string
	}{
		{"email", InputTargetUser, " Jane.Doe@Example.com ", "jane.doe@example.com", ""},
		{"not an email", InputTargetUser, "jane", "", "not an e-mail address"},
		{"empty", InputEmail, "  ", "", "is empty"},
		{"unknown", "boss", "x", "", `unknown input "boss"`},
		{"sku", InputLicenseSKU, "e5", "Microsoft 365 E5", ""},
		{"bad sku", InputLicenseSKU, "gold plan", "", "no single known licence"},
		{"name", InputName, "Rosa Diaz", "Rosa Diaz", ""},
		{"one word", InputName, "Rosa", "", "not a full name"},
		{"group", InputGroup, "vpn-users", "vpn-users", ""},
		{"control chars", InputGroup, "vpn\x00users", "", "not a valid value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := SuppliedInput(tt.input, tt.value)
			if tt.err != "" {
				if !errors.Is(err, switchyard.ErrInvalid) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want ErrInvalid containing %q", err, tt.err)
				}
				return
			}
			if err != nil || in.Value != tt.want || in.Source != SourceAgent || in.Name != tt.input {
				t.Fatalf("got %+v, %v; want value %q from agent", in, err, tt.want)
			}
		})
	}
}
