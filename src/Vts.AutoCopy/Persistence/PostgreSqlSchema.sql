-- Akka.Persistence.Sql 1.5.73's own tables for provider PostgreSQL.15 and its default table mapping, exactly as
-- its auto-initialize creates them (taken from the statements it sends), so a database it initialized and one made
-- here are the same. Run under an advisory lock by one node at a time; every statement is idempotent.
CREATE TABLE IF NOT EXISTS journal
(
    ordering        BIGINT GENERATED ALWAYS AS IDENTITY NOT NULL,
    created         BIGINT  NOT NULL,
    deleted         BOOLEAN NOT NULL,
    persistence_id  TEXT    NOT NULL,
    sequence_number BIGINT  NOT NULL,
    message         BYTEA   NOT NULL,
    manifest        TEXT        NULL,
    identifier      INT         NULL,
    writer_uuid     TEXT        NULL,
    CONSTRAINT "PK_journal" PRIMARY KEY (ordering)
);

DO $BLOCK$ BEGIN
    BEGIN ALTER TABLE journal ADD CONSTRAINT journal_uq UNIQUE (persistence_id, sequence_number);
    EXCEPTION WHEN duplicate_table OR duplicate_object THEN NULL; END;
    BEGIN CREATE INDEX journal_created_idx ON journal (created);
    EXCEPTION WHEN duplicate_table THEN NULL; END;
    BEGIN CREATE INDEX journal_sequence_number_idx ON journal (sequence_number);
    EXCEPTION WHEN duplicate_table THEN NULL; END;
END; $BLOCK$;

CREATE TABLE IF NOT EXISTS tags
(
    ordering_id    BIGINT NOT NULL,
    tag            TEXT   NOT NULL,
    sequence_nr    BIGINT NOT NULL,
    persistence_id TEXT   NOT NULL,
    CONSTRAINT "PK_tags" PRIMARY KEY (ordering_id, tag)
);

DO $BLOCK$ BEGIN
    BEGIN CREATE INDEX tags_persistence_id_sequence_nr_idx ON tags (persistence_id, sequence_nr);
    EXCEPTION WHEN duplicate_table THEN NULL; END;
    BEGIN CREATE INDEX tags_tag_idx ON tags (tag);
    EXCEPTION WHEN duplicate_table THEN NULL; END;
END; $BLOCK$;

CREATE TABLE IF NOT EXISTS snapshot
(
    persistence_id  TEXT   NOT NULL,
    sequence_number BIGINT NOT NULL,
    created         BIGINT NOT NULL,
    snapshot        BYTEA      NULL,
    manifest        TEXT       NULL,
    serializer_id   INT        NULL,
    CONSTRAINT "PK_snapshot" PRIMARY KEY (persistence_id, sequence_number)
);

DO $BLOCK$ BEGIN
    BEGIN CREATE INDEX snapshot_sequence_number_idx ON snapshot (sequence_number);
    EXCEPTION WHEN duplicate_table THEN NULL; END;
    BEGIN CREATE INDEX snapshot_created_idx ON snapshot (created);
    EXCEPTION WHEN duplicate_table THEN NULL; END;
END; $BLOCK$;
