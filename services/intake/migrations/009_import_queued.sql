-- Since when a running job has waited for its turn to file (an intake process files
-- IMPORT_FILINGS_AT_ONCE imports at once): the API shows it "queued".  NULL once it has
-- its turn, and again whenever the job is claimed or resumed.
ALTER TABLE import_jobs ADD COLUMN queued_since timestamptz;
