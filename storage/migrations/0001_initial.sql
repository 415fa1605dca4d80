-- つなぐ on PostgreSQL, schema version 1: one row per item.
-- Cases are JSONB; everything the case list, dashboard, agendas and impact preview filter or
-- sort by is also a real column, filled by the app at every save (postgres_store.columns).
-- Ids and codes are COLLATE "C": ordered by code point as the file backends order them, whatever
-- the database's locale, and the indexes still serve those orders.

CREATE TABLE cases (
    id               text COLLATE "C" PRIMARY KEY,
    revision         integer NOT NULL,
    body             jsonb NOT NULL,
    status           text COLLATE "C",
    received_on      text COLLATE "C" NOT NULL DEFAULT '',
    area             text COLLATE "C",
    priority         text COLLATE "C",
    programs         text[] COLLATE "C" NOT NULL DEFAULT '{}',
    agencies         text[] COLLATE "C" NOT NULL DEFAULT '{}',
    meetings         text[] COLLATE "C" NOT NULL DEFAULT '{}',
    created_by       text COLLATE "C",
    receiving_agency text COLLATE "C",
    consent          text COLLATE "C",
    config_version   text COLLATE "C",
    search           text NOT NULL DEFAULT ''
);
CREATE INDEX cases_status ON cases (status);
CREATE INDEX cases_received ON cases (received_on DESC, id DESC);
CREATE INDEX cases_area ON cases (area);
CREATE INDEX cases_priority ON cases (priority);
CREATE INDEX cases_programs ON cases USING gin (programs);
CREATE INDEX cases_agencies ON cases USING gin (agencies);
CREATE INDEX cases_meetings ON cases USING gin (meetings);
CREATE INDEX cases_created_by ON cases (created_by);
CREATE INDEX cases_receiving ON cases (receiving_agency);

CREATE TABLE events (
    case_id text COLLATE "C" NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    seq     integer NOT NULL,
    body    jsonb NOT NULL,
    PRIMARY KEY (case_id, seq)
);

-- Config versions; the live pointer is the compare-and-set row meta['live_version'].
CREATE TABLE versions (
    id        text PRIMARY KEY,
    saved_seq integer NOT NULL UNIQUE,
    body      jsonb NOT NULL
);

CREATE TABLE meta (
    key   text PRIMARY KEY,
    value jsonb NOT NULL
);

CREATE TABLE users (
    id   text PRIMARY KEY,
    body jsonb NOT NULL
);

-- The hash-chained audit log, and its head (one row, locked by every append).
CREATE TABLE audit (
    seq  bigint PRIMARY KEY,
    body jsonb NOT NULL
);
CREATE TABLE audit_head (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq  bigint NOT NULL,
    hash text NOT NULL
);
