"""The facilitator's web console: an aiohttp server bridging players (ZeroMQ) to a page (WebSockets)."""
