"""Small widgets and painting helpers the views share."""
