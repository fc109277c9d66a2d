"""One module per page of the navigation bar."""
