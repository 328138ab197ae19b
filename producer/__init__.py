"""Producer side: what an Ascend job uses to write its folder, metadata, log and artifacts."""
