-- polypay schema v10: a refund's reference on the rail that sent the money back (a gateway's
-- settlement report), as payments and payouts have theirs; PassToPay reports it as the refund's
-- `channelOrderNo`.
ALTER TABLE refunds ADD COLUMN channel_order_no TEXT;
