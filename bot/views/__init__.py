"""Block Kit, built with slack_sdk.models (which validates Slack's limits): one module per view."""
