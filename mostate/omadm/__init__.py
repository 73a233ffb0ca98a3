"""The OMA-DM binding: DM tree URIs, node properties, ACLs and SyncML DM packages."""
