-- polypay schema v8: the operator's lookup of a payment's callbacks (the console's payment page,
-- `polypay callbacks list --payment`, `GET /admin/v1/callbacks?payment=`) matches a delivery's
-- order key or its object; with an index on the order key only, the `OR` scanned the whole table.
CREATE INDEX deliveries_by_object ON deliveries (object_id, id);
