-- The monthly moves of a period: the segments that start in it, and the ones that end in
-- it (the predecessors whose state tells a closure from a reopening).  Open-ended
-- segments never end in a period: left out, they are most of the table.
CREATE INDEX case_intervals_starts ON case_intervals (valid_from);
CREATE INDEX case_intervals_ends ON case_intervals (valid_to) WHERE valid_to <> 'infinity';
