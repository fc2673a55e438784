-- Who filed each complaint: the caller's token subject (an officer, or a channel system's
-- key), never a request field.  Kept in intake's own record rather than on the event, so
-- ComplaintFiled's schema is unchanged; NULL for complaints filed before this column.
ALTER TABLE complaints ADD COLUMN filed_by text;
