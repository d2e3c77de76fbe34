-- Passwords the original stored in plain text are replaced by Argon2id hashes of the same text
-- (a C++ step registered under this migration's name), so no plain text survives and the
-- account still logs in.
SELECT 1;
