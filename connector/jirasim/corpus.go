package jirasim

import (
	"math/rand/v2"
	"strings"
)

// The embedded corpus of IT service desk phrasings. Generated tickets are built
// from these templates with slots ({app}, {device}, …) filled from the lists
// below, so the text reads like a real helpdesk and classifiers have something
// meaningful to learn from. Nothing here is read from disk at run time.

// ticketTemplate is one kind of request or incident.
type ticketTemplate struct {
	topic     string   // short topic, also used as a label
	kinds     []string // project kinds it fits: itsm, ops, sec, hr, biz
	summaries []string
	details   []string // description paragraphs
	steps     []string // bullet / ordered list items
	comments  []string
	code      string // optional snippet shown in a code block
	codeLang  string
}

var corpusTemplates = []ticketTemplate{
	{
		topic: "password-reset", kinds: []string{"itsm"},
		summaries: []string{
			"Password reset for {app}",
			"Can't log in to {app} - password expired",
			"Forgot my {app} password",
			"Locked out of my account after too many attempts",
			"Need password reset, self-service portal not sending the email",
		},
		details: []string{
			"I tried to log in to {app} this morning and it says my password has expired. The self-service reset link never arrives in my inbox.",
			"My account got locked after I typed the old password on my phone. I need access back before the {time} meeting.",
			"The reset page shows \"{error}\" when I submit the new password. I've tried three different passwords that meet the policy.",
		},
		steps: []string{
			"Open {app} in the browser",
			"Click \"Forgot password\"",
			"Enter the work email address",
			"No email arrives after 15 minutes",
		},
		comments: []string{
			"I've unlocked the account and sent a temporary password to your manager. Please change it at first login.",
			"Can you confirm the username you are using? It should be your work email.",
			"Reset done. The sync to {app} can take up to 10 minutes.",
			"Still can't get in, it now says the temporary password is invalid.",
			"Cleared the lockout counter in the directory, please try again now.",
			"Working now, thanks!",
		},
		code: "Get-ADUser -Identity jdoe -Properties LockedOut,PasswordExpired\nUnlock-ADAccount -Identity jdoe", codeLang: "powershell",
	},
	{
		topic: "mfa", kinds: []string{"itsm", "sec"},
		summaries: []string{
			"New phone - need MFA re-enrolled",
			"Authenticator app not accepting codes",
			"MFA push notifications not arriving",
			"Lost hardware token, need temporary bypass",
		},
		details: []string{
			"I switched to a new phone over the weekend and the authenticator app did not transfer my accounts. I can't approve sign-ins to {app}.",
			"Push notifications stopped arriving since the last OS update. Codes from the app are rejected with \"{error}\".",
		},
		steps: []string{"Verify identity by video call", "Reset MFA methods in the identity provider", "User re-enrolls at next sign-in"},
		comments: []string{
			"Identity verified over a call. MFA methods cleared, you will be asked to enrol on next sign-in.",
			"Please check that the phone's clock is set to automatic; time drift breaks one-time codes.",
			"Temporary access pass issued, valid for 8 hours.",
		},
	},
	{
		topic: "vpn", kinds: []string{"itsm", "ops"},
		summaries: []string{
			"VPN disconnects every few minutes",
			"Cannot connect to VPN from home",
			"{vpn} error {error} when connecting",
			"VPN connected but internal sites don't load",
			"Slow VPN from the {site} office",
		},
		details: []string{
			"Since yesterday {vpn} drops the connection every 5-10 minutes. I'm on my home Wi-Fi, other sites work fine.",
			"The client says \"{error}\" right after I enter my credentials. Colleagues on the same team can connect.",
			"I'm connected according to the client, but {host} and the intranet time out. DNS lookups fail.",
		},
		steps: []string{"Open {vpn}", "Select the {site} gateway", "Sign in with SSO", "Connection drops after a few minutes"},
		comments: []string{
			"Can you send the client log? It is under %LOCALAPPDATA% on Windows.",
			"Looks like the split-tunnel profile was not pushed to your laptop. I re-pushed it, please reboot.",
			"The {site} gateway had a certificate rollover this morning; a client update fixes it.",
			"We see packet loss on the gateway, network team is investigating.",
			"Stable since the update, you can close this.",
		},
		code: "2024-03-11 08:14:02 ERROR tunnel: keepalive timeout after 30s\n2024-03-11 08:14:02 INFO reconnecting to gw-{site}.example.com:443", codeLang: "text",
	},
	{
		topic: "laptop", kinds: []string{"itsm"},
		summaries: []string{
			"Laptop won't boot after update",
			"{device} battery drains in an hour",
			"Blue screen on {device} - {error}",
			"Laptop screen flickering",
			"Request replacement laptop, keyboard keys not working",
			"Fan very loud and laptop overheating",
		},
		details: []string{
			"My {device} got stuck at the logo after last night's update. I've tried holding the power button and it comes back to the same screen.",
			"The battery goes from 100% to 10% in about an hour even with only the browser open. The laptop is {n} years old.",
			"I get a blue screen with \"{error}\" a few times a day, usually when I dock the laptop.",
		},
		steps: []string{"Back up local files to the cloud drive", "Bring the laptop to the {site} IT bar", "Collect a loaner"},
		comments: []string{
			"Please bring it to the IT bar on floor 3, we'll swap it for a loaner while we reimage.",
			"Battery health report shows 41% design capacity, replacement ordered.",
			"Driver rollback fixed the dock issue; we'll block that driver version fleet-wide.",
			"Replacement is ready for pickup.",
		},
	},
	{
		topic: "access-request", kinds: []string{"itsm", "sec", "ops"},
		summaries: []string{
			"Access request: {app} for new role",
			"Need read access to the {share} shared drive",
			"Please add me to the {team} distribution list",
			"Request admin access to {host}",
			"Access to production database for incident follow-up",
		},
		details: []string{
			"I moved to the {team} team and need access to {app}. My manager has approved, see the approval below.",
			"I need read-only access to the {share} folder to prepare the quarterly report.",
			"For the on-call rotation I need sudo on {host}. Time-boxed access is fine.",
		},
		steps: []string{"Manager approval", "Security review for privileged access", "Grant through the access group", "Notify requester"},
		comments: []string{
			"Approved by the manager in the portal.",
			"Privileged access needs a security review, assigning to the security team.",
			"Added to the group; access is effective within 30 minutes.",
			"This is granted for 14 days and will be removed automatically.",
			"Please use a ticket for each system so we can audit them separately.",
		},
	},
	{
		topic: "license", kinds: []string{"itsm", "biz"},
		summaries: []string{
			"Need a {license} license",
			"{license} says my trial has expired",
			"Transfer {license} license from departed colleague",
			"Request additional seats for {license}",
		},
		details: []string{
			"I need {license} for the design review next week. Cost centre {n}0{n}.",
			"When I open {license} it says the trial expired, but I was told we had a company licence.",
		},
		steps: []string{"Check available seats", "Assign licence in the vendor portal", "User signs out and in again"},
		comments: []string{
			"We have 2 free seats, assigned one to you.",
			"No free seats; I raised a purchase request, approval takes about 3 days.",
			"Licence reclaimed from an inactive account and assigned.",
		},
	},
	{
		topic: "onboarding", kinds: []string{"itsm", "hr"},
		summaries: []string{
			"Onboarding: new starter in {team} on {date}",
			"New hire setup - laptop, accounts, badge",
			"Prepare equipment for contractor starting {date}",
		},
		details: []string{
			"We have a new team member joining {team} on {date}. They need a laptop, email, {app} and building access for {site}.",
			"Contractor joining for 6 months. Needs a laptop with the developer image and VPN, no access to HR systems.",
		},
		steps: []string{"Create directory account", "Assign licences", "Ship laptop with the standard image", "Order access badge", "Book the first-day IT session"},
		comments: []string{
			"Account created, credentials will be given on the first day.",
			"Laptop imaged and shipped, tracking number sent to the manager.",
			"Badge request sent to facilities.",
			"Everything ready; closing once the starter confirms first login.",
		},
	},
	{
		topic: "offboarding", kinds: []string{"itsm", "hr", "sec"},
		summaries: []string{
			"Offboarding: leaver from {team}, last day {date}",
			"Disable accounts for departing employee",
			"Collect equipment from leaver",
		},
		details: []string{
			"A colleague in {team} leaves on {date}. Please disable accounts at 18:00 on the last day and forward email to the manager for 30 days.",
			"Contractor contract ended early. Revoke VPN and {app} access today.",
		},
		steps: []string{"Disable directory account", "Revoke SSO sessions", "Transfer file ownership", "Collect laptop and badge", "Remove from licences"},
		comments: []string{
			"Scheduled the account disable for 18:00 on the last day.",
			"Mailbox converted to shared and delegated to the manager.",
			"Laptop received and wiped.",
			"All access revoked; security has been notified.",
		},
	},
	{
		topic: "printer", kinds: []string{"itsm"},
		summaries: []string{
			"Printer {printer} not printing",
			"Paper jam on {printer} in {site}",
			"Can't add the {printer} printer on Mac",
			"Scan to email not working on {printer}",
		},
		details: []string{
			"Jobs sent to {printer} stay in the queue with status \"{error}\". Printing to other printers works.",
			"The scanner on {printer} says the SMTP server rejected the message.",
		},
		steps: []string{"Clear the print queue", "Power-cycle the printer", "Re-add the printer from the print portal"},
		comments: []string{
			"Toner was empty and the printer did not report it; replaced.",
			"Print server spooler restarted, jobs are going through again.",
			"The scan-to-email relay password was rotated; updated on the device.",
		},
	},
	{
		topic: "outage", kinds: []string{"itsm", "ops"},
		summaries: []string{
			"{app} is down for everyone",
			"Outage: {app} returning 502 errors",
			"Major incident - {app} unavailable in {site}",
			"{host} unreachable",
			"Email delayed by more than an hour",
		},
		details: []string{
			"Since {time} {app} returns \"{error}\" for all users. Status page still shows green.",
			"Multiple users in {site} report they can't reach {app}. Other offices seem fine.",
			"Monitoring shows {host} stopped responding to health checks at {time}.",
		},
		steps: []string{"Declare incident and page on-call", "Post status page update", "Identify the failing component", "Mitigate", "Write the post-incident review"},
		comments: []string{
			"Incident declared, bridge is open.",
			"Root cause looks like an expired certificate on the load balancer.",
			"Failover to the secondary region completed, service restored.",
			"Status page updated. Post-incident review scheduled for Thursday.",
			"Confirmed working again from {site}.",
			"Another report from the finance team, linking it here.",
		},
		code: "$ kubectl -n prod get pods -l app=gateway\nNAME                       READY   STATUS             RESTARTS\ngateway-7d9f8c6b5d-x2lqp   0/1     CrashLoopBackOff   14", codeLang: "bash",
	},
	{
		topic: "email", kinds: []string{"itsm"},
		summaries: []string{
			"Outlook keeps asking for password",
			"Shared mailbox not showing in Outlook",
			"Calendar invites not arriving",
			"Mailbox full warning",
		},
		details: []string{
			"Outlook prompts for my password every few minutes and then says \"{error}\".",
			"I was given access to the {team} shared mailbox but it doesn't appear in Outlook desktop.",
		},
		steps: []string{"Remove cached credentials", "Recreate the Outlook profile", "Check mailbox permissions"},
		comments: []string{
			"Auto-mapping can take up to an hour after permissions are granted.",
			"Archive policy applied, mailbox is now at 62%.",
			"Removed stale credentials from the credential manager; prompts stopped.",
		},
	},
	{
		topic: "wifi", kinds: []string{"itsm", "ops"},
		summaries: []string{
			"Wi-Fi drops in the {site} meeting rooms",
			"Guest Wi-Fi portal not loading",
			"Can't join corporate Wi-Fi after certificate renewal",
		},
		details: []string{
			"In the large meeting rooms in {site} the Wi-Fi disconnects during video calls.",
			"Since the certificate renewal my laptop can't join the corporate SSID, it says authentication failed.",
		},
		steps: []string{"Check the access point logs", "Verify the device certificate", "Re-enrol the device"},
		comments: []string{
			"Access point on floor 2 was overloaded; added capacity.",
			"Device certificate was not renewed; forced a renewal via MDM.",
		},
	},
	{
		topic: "phishing", kinds: []string{"sec", "itsm"},
		summaries: []string{
			"Suspicious email asking for {app} credentials",
			"Phishing report: fake invoice from supplier",
			"I clicked a link in a suspicious email",
		},
		details: []string{
			"I received an email that looks like it comes from {app}, asking me to confirm my password. The sender domain is misspelled.",
			"I clicked the link before noticing the domain. I did not enter my password, but the page asked for it.",
		},
		steps: []string{"Quarantine the message for all recipients", "Block the sender domain", "Reset credentials if entered", "Check sign-in logs"},
		comments: []string{
			"Message purged from 37 mailboxes and the domain is blocked.",
			"Sign-in logs show no suspicious activity for your account.",
			"As a precaution we revoked your sessions; please sign in again.",
		},
	},
	{
		topic: "security-incident", kinds: []string{"sec"},
		summaries: []string{
			"Malware alert on {device}",
			"Unusual sign-in from new country for service account",
			"Secret committed to repository",
			"Vulnerability {error} on {host}",
		},
		details: []string{
			"EDR raised a high-severity alert on a {device} in {team}. The device has been isolated.",
			"A service account signed in from an unexpected location at {time}. MFA is not enforced for it.",
			"An API token was found in a public commit. The token has admin scope on {app}.",
		},
		steps: []string{"Contain", "Collect evidence", "Eradicate", "Recover", "Lessons learned"},
		comments: []string{
			"Device isolated, forensic image in progress.",
			"Token revoked and rotated; no use of it found in the audit log.",
			"Patched {host}, scan is clean now.",
			"Escalating to the CISO per the incident policy.",
		},
		code: "{\"alert\": \"Trojan:Win32/Wacatac\", \"severity\": \"high\", \"action\": \"quarantined\"}", codeLang: "json",
	},
	{
		topic: "deploy", kinds: []string{"ops"},
		summaries: []string{
			"CI pipeline failing on {app} main branch",
			"Certificate for {host} expires in 7 days",
			"Disk almost full on {host}",
			"Nightly backup job failed",
			"Upgrade {app} to the supported version",
		},
		details: []string{
			"The build fails at the integration test stage with \"{error}\". It started after the base image update.",
			"Monitoring warns that /var on {host} is at 93%. Logs are not being rotated.",
			"The nightly backup of {host} failed twice in a row with \"{error}\".",
		},
		steps: []string{"Reproduce", "Fix", "Deploy to staging", "Deploy to production", "Verify monitoring"},
		comments: []string{
			"Pinned the base image, builds are green again.",
			"Log rotation was missing for the new service; fixed and disk is at 41%.",
			"Certificate renewed through ACME and deployed.",
			"Backup target ran out of quota, raised it and re-ran the job.",
		},
		code: "df -h /var\nFilesystem      Size  Used Avail Use% Mounted on\n/dev/sda3        50G   47G  3.1G  93% /var", codeLang: "bash",
	},
	{
		topic: "hr-systems", kinds: []string{"hr", "biz"},
		summaries: []string{
			"Payslip not visible in the HR portal",
			"Update bank details in payroll",
			"Holiday balance wrong after team change",
			"Benefits enrolment form won't submit",
		},
		details: []string{
			"My payslip for last month isn't in the HR portal. The previous months are there.",
			"After moving to {team} my holiday balance dropped by {n} days.",
		},
		steps: []string{"Verify the employee record", "Correct the entry", "Confirm with the employee"},
		comments: []string{
			"The payroll export ran late; payslips are now published.",
			"Balance corrected, the transfer had not carried over.",
			"Please submit bank changes through the secure form; we can't take them by email.",
		},
	},
	{
		topic: "hardware-request", kinds: []string{"itsm", "biz"},
		summaries: []string{
			"Request second monitor",
			"Need a headset for calls",
			"Docking station for {device}",
			"Ergonomic keyboard request",
		},
		details: []string{
			"Could I get a second monitor for my desk in {site}? Manager approved.",
			"My docking station doesn't support two screens with the new {device}.",
		},
		steps:    []string{"Check stock", "Order if needed", "Deliver to desk"},
		comments: []string{"In stock, will be on your desk tomorrow.", "Ordered, expected delivery in 5 working days."},
	},
	{
		topic: "software-install", kinds: []string{"itsm", "ops"},
		summaries: []string{
			"Install {license} on my laptop",
			"Software Center install of {app} stuck at 0%",
			"Need Python and Docker for development",
		},
		details: []string{
			"I need {license} for a project starting next week. It's not in Software Center.",
			"The install of {app} from Software Center has been at 0% for two hours.",
		},
		steps:    []string{"Check the approved software list", "Package if missing", "Deploy to the device"},
		comments: []string{"Added to Software Center, you can install it yourself now.", "The deployment was stuck behind a pending reboot; reboot and retry."},
	},
}

var (
	corpusApps     = []string{"Salesforce", "Workday", "SAP", "Okta", "Confluence", "GitLab", "ServiceNow", "Zoom", "Slack", "Microsoft Teams", "SharePoint", "Tableau", "NetSuite", "Jenkins", "Intranet"}
	corpusDevices  = []string{"ThinkPad T14", "MacBook Pro 14\"", "Dell Latitude 7440", "Surface Laptop 5", "HP EliteBook 840"}
	corpusHosts    = []string{"db-prod-03", "app-eu-12", "build-agent-7", "fs01.corp.example.com", "k8s-node-21", "mail-relay-2", "ldap01"}
	corpusSites    = []string{"London", "Berlin", "Austin", "Singapore", "Toronto", "Lisbon"}
	corpusPrinters = []string{"PRN-3F-EAST", "PRN-LOBBY", "PRN-2F-FIN", "PRN-HR-01"}
	corpusLicenses = []string{"Adobe Acrobat Pro", "Visio", "JetBrains IntelliJ IDEA", "Figma", "Microsoft Project", "Tableau Creator"}
	corpusVPNs     = []string{"GlobalProtect", "Cisco AnyConnect", "FortiClient", "WireGuard"}
	corpusErrors   = []string{"0x80070005", "ERR_CONNECTION_RESET", "AADSTS50076", "Error 809", "CRITICAL_PROCESS_DIED", "HTTP 502 Bad Gateway", "CVE-2024-3094", "Authentication failed (code 403)", "Spooler error", "no space left on device"}
	corpusTeams    = []string{"Finance", "Marketing", "Engineering", "Sales", "Customer Success", "Legal", "Platform", "Data"}
	corpusShares   = []string{"\\\\fs01\\finance", "\\\\fs01\\marketing", "Team Drive/Legal", "\\\\fs02\\projects"}
	corpusTimes    = []string{"08:15", "09:40", "11:05", "13:30", "16:50"}
	corpusDates    = []string{"Monday", "the 1st of next month", "next Tuesday", "the 15th"}

	firstNames   = []string{"Sarah", "James", "Priya", "Mohammed", "Elena", "Tom", "Aisha", "Lukas", "Mei", "Carlos", "Olivia", "Kenji", "Fatima", "Noah", "Ingrid", "Daniel", "Chloe", "Rahul", "Sofia", "Ben", "Hannah", "Mateo", "Zara", "Oliver", "Yuki", "Grace", "Ahmed", "Laura", "Ethan", "Nadia"}
	lastNames    = []string{"Chen", "Okafor", "Patel", "Schmidt", "Rossi", "Nguyen", "Kowalski", "Garcia", "Johansson", "Murphy", "Tanaka", "Haddad", "Dubois", "Silva", "Anderson", "Kim", "Novak", "Fischer", "Ivanova", "Brown", "Singh", "Moreau", "Costa", "Walsh"}
	appUsers     = []string{"Automation for Jira", "Slack", "Statuspage", "Jira Service Management Widget", "Opsgenie"}
	customerOrgs = []string{"contoso.com", "fabrikam.io", "northwind.example", "tailspin.example"}
)

// fill replaces {slot}s with values drawn from r.
func fill(r *rand.Rand, s string) string { return fillM(r, nil, s) }

// fillM is fill with a per-ticket memo: a slot keeps its first value, so the
// summary, description, comments and attachments of one ticket talk about the
// same host, app and site. memo may be nil.
func fillM(r *rand.Rand, memo map[string]string, s string) string {
	if !strings.Contains(s, "{") {
		return s
	}
	repl := []struct {
		slot string
		vals []string
	}{
		{"{app}", corpusApps}, {"{device}", corpusDevices}, {"{host}", corpusHosts},
		{"{site}", corpusSites}, {"{printer}", corpusPrinters}, {"{license}", corpusLicenses},
		{"{vpn}", corpusVPNs}, {"{error}", corpusErrors}, {"{team}", corpusTeams},
		{"{share}", corpusShares}, {"{time}", corpusTimes}, {"{date}", corpusDates},
		{"{n}", []string{"2", "3", "4", "5"}},
	}
	for _, x := range repl {
		for strings.Contains(s, x.slot) {
			v, ok := memo[x.slot]
			if !ok {
				v = pick(r, x.vals)
				if memo != nil {
					memo[x.slot] = v
				}
			}
			s = strings.Replace(s, x.slot, v, 1)
		}
	}
	return s
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// templatesFor returns the templates fitting a project kind, in corpus order.
func templatesFor(kind string) []*ticketTemplate {
	var out []*ticketTemplate
	for i := range corpusTemplates {
		for _, k := range corpusTemplates[i].kinds {
			if k == kind {
				out = append(out, &corpusTemplates[i])
				break
			}
		}
	}
	if len(out) == 0 {
		for i := range corpusTemplates {
			out = append(out, &corpusTemplates[i])
		}
	}
	return out
}
