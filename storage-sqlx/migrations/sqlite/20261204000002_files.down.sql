-- Back to no receipts or comments: their rows are dropped; files already in the object store
-- are left there (delete the folder or bucket prefix by hand if the data should go).
DROP TABLE comments;
DROP TABLE attachments;
