"""The demo database generator (`crm demo`) and the names, places and words it draws from."""
