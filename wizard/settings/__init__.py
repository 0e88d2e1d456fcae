"""Settings > Amazon: the inventory and pricing settings, their preview and history."""
