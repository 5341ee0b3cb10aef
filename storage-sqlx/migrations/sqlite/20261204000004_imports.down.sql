-- Back to no record of imports (the entries they wrote stay).
DROP TABLE imports;
