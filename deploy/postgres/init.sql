-- One database `opc`; per service a login role that owns its schema and reaches nothing else.
-- The same statements as provision() in deploy/devstack/src/opc_devstack/infra.py.
-- Run by psql as a superuser, e.g. from /docker-entrypoint-initdb.d/ on an empty data directory.
-- Passwords come from the environment (\getenv needs psql 15+); compose passes its dev defaults.
\set ON_ERROR_STOP on

\getenv registry_password REGISTRY_DB_PASSWORD
\getenv subsidy_password SUBSIDY_DB_PASSWORD
\getenv matching_password MATCHING_DB_PASSWORD
\getenv ledger_password LEDGER_DB_PASSWORD
-- An unset variable would reach the server as literal text; fail with a clear message instead.
\if :{?registry_password} \else
DO $$ BEGIN RAISE EXCEPTION 'REGISTRY_DB_PASSWORD is not set'; END $$;
\endif
\if :{?subsidy_password} \else
DO $$ BEGIN RAISE EXCEPTION 'SUBSIDY_DB_PASSWORD is not set'; END $$;
\endif
\if :{?matching_password} \else
DO $$ BEGIN RAISE EXCEPTION 'MATCHING_DB_PASSWORD is not set'; END $$;
\endif
\if :{?ledger_password} \else
DO $$ BEGIN RAISE EXCEPTION 'LEDGER_DB_PASSWORD is not set'; END $$;
\endif

SELECT 'CREATE DATABASE opc' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'opc') \gexec

SELECT format('%s ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L',
              CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r.name) THEN 'ALTER' ELSE 'CREATE' END,
              r.name, r.password)
FROM (VALUES ('registry', :'registry_password'),
             ('subsidy', :'subsidy_password'),
             ('matching', :'matching_password'),
             ('ledger', :'ledger_password')) AS r (name, password) \gexec

\connect opc

REVOKE ALL ON DATABASE opc FROM PUBLIC;
REVOKE ALL ON SCHEMA public FROM PUBLIC;

GRANT CONNECT, TEMPORARY ON DATABASE opc TO registry;
CREATE SCHEMA IF NOT EXISTS registry AUTHORIZATION registry;
ALTER SCHEMA registry OWNER TO registry;
ALTER ROLE registry SET search_path = registry;

GRANT CONNECT, TEMPORARY ON DATABASE opc TO subsidy;
CREATE SCHEMA IF NOT EXISTS subsidy AUTHORIZATION subsidy;
ALTER SCHEMA subsidy OWNER TO subsidy;
ALTER ROLE subsidy SET search_path = subsidy;

GRANT CONNECT, TEMPORARY ON DATABASE opc TO matching;
CREATE SCHEMA IF NOT EXISTS matching AUTHORIZATION matching;
ALTER SCHEMA matching OWNER TO matching;
ALTER ROLE matching SET search_path = matching;

GRANT CONNECT, TEMPORARY ON DATABASE opc TO ledger;
CREATE SCHEMA IF NOT EXISTS ledger AUTHORIZATION ledger;
ALTER SCHEMA ledger OWNER TO ledger;
ALTER ROLE ledger SET search_path = ledger;
