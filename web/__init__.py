"""What the two HTTP edges share, below both: the API (`api/`) mounts the dashboard
(`dashboard/`), and each resolves its caller (`caller.Caller`, from App Service's principal
header by `auth`) and bounds its live log tails (`follow`) through this package, so the
dashboard never imports the API."""
