-- Back to password sign-in only: the links to providers are dropped, so an account made by
-- a provider sign-in (it has no password) can no longer sign in; logins under way fail.
DROP TABLE pending_logins;
DROP TABLE identities;
