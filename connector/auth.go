package connector

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"switchyard"
)

// AuthType names how a connection authenticates.
type AuthType string

const (
	AuthAPIToken AuthType = "api_token" // Cloud: Basic email:token
	AuthBasic    AuthType = "basic"     // Data Center: Basic username:password
	AuthPAT      AuthType = "pat"       // Data Center: Bearer personal access token
	AuthOAuth    AuthType = "oauth"     // Cloud: OAuth 2.0 3LO through the API gateway
)

// Auth holds one connection's credentials. Only the fields of its Type are
// used. It never prints its secrets (String and LogValue redact them).
type Auth struct {
	Type     AuthType
	Email    string // api_token
	Token    string // api_token, pat
	Username string // basic
	Password string // basic

	// OAuth: the app's settings, where tokens live, and optionally the cloud
	// id (looked up through accessible-resources when empty).
	OAuth   *OAuthConfig
	Store   TokenStore
	CloudID string

	oauth *oauthSource
}

// APITokenAuth is Jira Cloud's email + API token.
func APITokenAuth(email, token string) Auth {
	return Auth{Type: AuthAPIToken, Email: email, Token: token}
}

// BasicAuth is Data Center username + password.
func BasicAuth(username, password string) Auth {
	return Auth{Type: AuthBasic, Username: username, Password: password}
}

// PATAuth is a Data Center personal access token.
func PATAuth(token string) Auth { return Auth{Type: AuthPAT, Token: token} }

// OAuthAuth is an OAuth 2.0 (3LO) connection whose tokens live in store.
func OAuthAuth(cfg *OAuthConfig, store TokenStore) Auth {
	return Auth{Type: AuthOAuth, OAuth: cfg, Store: store}
}

func (a Auth) String() string {
	switch a.Type {
	case AuthAPIToken:
		return fmt.Sprintf("api_token(email=%s, token=[redacted])", a.Email)
	case AuthBasic:
		return fmt.Sprintf("basic(username=%s, password=[redacted])", a.Username)
	case AuthPAT:
		return "pat(token=[redacted])"
	case AuthOAuth:
		id := ""
		if a.OAuth != nil {
			id = a.OAuth.ClientID
		}
		return fmt.Sprintf("oauth(client_id=%s, client_secret=[redacted])", id)
	}
	return string(a.Type)
}

// LogValue keeps secrets out of slog output.
func (a Auth) LogValue() slog.Value { return slog.StringValue(a.String()) }

func (a Auth) validate(mode switchyard.Mode) error {
	missing := func(field string) error {
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "auth."+field, "is required for %s auth", a.Type)
	}
	switch a.Type {
	case AuthAPIToken:
		if strings.TrimSpace(a.Email) == "" {
			return missing("email")
		}
		if a.Token == "" {
			return missing("token")
		}
	case AuthBasic:
		if a.Username == "" {
			return missing("username")
		}
		if a.Password == "" {
			return missing("password")
		}
	case AuthPAT:
		if a.Token == "" {
			return missing("token")
		}
	case AuthOAuth:
		if mode != switchyard.ModeCloud {
			return switchyard.FieldErrorf(switchyard.ErrInvalid, "auth.type", "oauth is for Jira Cloud only, not mode %q", mode)
		}
		if a.OAuth == nil {
			return missing("oauth")
		}
		if err := a.OAuth.validate(); err != nil {
			return err
		}
		if a.Store == nil {
			return missing("store")
		}
	case "":
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "auth.type", "is required (api_token, basic, pat or oauth)")
	default:
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "auth.type", "must be api_token, basic, pat or oauth, not %q", a.Type)
	}
	return nil
}

// apply sets the Authorization header of one outgoing attempt.
func (a Auth) apply(ctx context.Context, r *http.Request) error {
	switch a.Type {
	case AuthAPIToken:
		r.SetBasicAuth(a.Email, a.Token)
	case AuthBasic:
		r.SetBasicAuth(a.Username, a.Password)
	case AuthPAT:
		r.Header.Set("Authorization", "Bearer "+a.Token)
	case AuthOAuth:
		tok, err := a.oauth.token(ctx)
		if err != nil {
			return err
		}
		r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	}
	return nil
}

// bearer is the token a request carried, so a 401 can invalidate exactly it.
func bearer(r *http.Request) string {
	if r == nil {
		return ""
	}
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
}
