"""Sales channels: orders in from a web store, Amazon and eBay; shipment confirmations back out.
Their screens are oms_web/channel_screens/; here are the machine endpoints and the work behind both.

In (machine endpoints, kept here beside the payload readers they serve: their contract is the
channel's, a key or a signature, not a person's session):
  api          the JSON order API's routes and its OpenAPI document
  webhooks     Shopify / WooCommerce receivers, HMAC checked over the raw body
  webstore     payload → NewOrder for the API and the webhooks, over payloads (strict field reading)
  keys         API keys and secrets: made, stored (hashed or kept), shown masked
  arrivals     orders reaching a process at once written in one transaction
Translations on the way in: amounts (money strings, currencies), addresses, times.
  importing    one channel order in, or many, deduplicated by (channel, channel order id)
  manage       creating and configuring channels (the screens and the CLI)
Marketplaces:
  amazon, ebay, transport      their clients and order mappings
  marketplaces                 what a sync needs of each, by kind
  sync                         a pull run: the channel's hold, the pages, the cursor
  confirmations                shipment confirmations sent, retried, put back in the queue
  upload_file                  Amazon's confirmation upload file
  scheduled                    the pulls and confirmations as jobs on the task queue
  reports                      report files: preview, keeping the upload, import
  report_jobs                  a long file's import as a job on the task queue, run again safely
  report_reading               a report's text, header and rows, whatever its format
  amazon_reports, ebay_reports the formats
"""
