"""The domain layer: the OMS's rules as services, free of Flask request code.

orders      create, finalize, allocate, edit, void, payment, holds, notes
inventory   receive and adjust stock
shipping    shipments: pack, hand over, deliver
invoicing   invoices with gapless numbers, and the shipments each covers
product_match  the products a SKU box's unknown text names
stock       the stock rules themselves (allocate, backorder, release, ship) and the ledger
locking     which rows are locked, in which order
segments    the board segment (fulfilment stage) of an order, and the per-segment counts
invariants  the SPEC's invariants 1-5, checked against a live database
"""
