"""Backfill import: old complaint registers (CSV or Excel) turned into filings.

Pure, in-memory steps, each in its own module:

* ``reader``  bytes of a CSV (UTF-8 with or without BOM, else cp874/TIS-620) or .xlsx file
  -> header row and data rows, numbered as the spreadsheet numbers them;
* ``headers`` Thai or English column headers -> the template's field names;
* ``values``  cell values -> dates (Buddhist Era or CE, Thai digits, Thai month names,
  Excel date cells) and codes (channel, category, status, closure reason by code or label);
* ``rows``    one row -> a validated ``FileComplaint`` plus its outcome so far, or reasons;
* ``plan``    a whole table -> the rows to file, the duplicates inside the file and the
  rejected rows;
* ``prepare`` a chunk of rows -> each good row's complaint and ``ComplaintFiled`` outbox
  record encoded for the store (what large imports run in worker processes).

Writing the plan to the store is the job of ``services.intake.backfill.usecases``.
"""
