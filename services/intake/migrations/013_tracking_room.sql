-- Room on each page of tracking_cases for the next version of its rows.  A case's row is
-- written at its filing and rewritten as its history grows (a backfilled case within
-- seconds: filed, then its outcome).  None of the columns rewritten is indexed, so with
-- room on the page PostgreSQL rewrites the row there and leaves the four indexes alone (a
-- heap-only update); on a full page each rewrite added an entry to every index.
ALTER TABLE tracking_cases SET (fillfactor = 70);
