-- An expense booked in the group's currency from another keeps what was entered: amount,
-- currency, rate, payers and shares, as the API's `original` JSON object (text).
ALTER TABLE expenses ADD COLUMN original TEXT;
