// ready top: the highest priority among ready intents below a bound (how far down the rp
// index ready() must read). Returns: one row, the priority or null.
// Parameters: $below (exclusive bound; null: none).
:param below => null;
MATCH (i:Intent)
WHERE i.rp >= -9223372036854775808 AND ($below IS NULL OR i.rp < $below)
RETURN max(i.rp)
