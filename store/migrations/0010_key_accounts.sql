-- An API key may be bound to a Jira account (keys create --as): only a bound
-- key decides approvals, and only as that account.
ALTER TABLE api_keys ADD COLUMN account_id TEXT NOT NULL DEFAULT '';
