-- polypay schema v6: a merchant's payouts in flight (pending or processing), summed per currency
-- without reading its finished history (V2_SHA256's frozen balance).
CREATE INDEX payouts_unfinished_by_merchant ON payouts (merchant_id) WHERE state IN ('pending', 'processing');
