"""Sales channels: orders in from a web store, Amazon and eBay; shipment confirmations back out.

webstore    the JSON order API and Shopify / WooCommerce webhooks: payload → NewOrder
api         the JSON API's routes and its OpenAPI document
webhooks    webhook receivers, HMAC checked over the raw body
keys        API keys and secrets: made, stored (hashed or kept), shown masked
admin       the admin screens: channels, secrets, SKU mapping, sync status, report upload
importing   one channel order in, deduplicated by (channel, channel order id)
amazon, ebay, reports, sync   the marketplaces' clients, report files and the sync run
"""
