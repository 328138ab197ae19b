"""Infrastructure as code: Bicep per concern, and the JSON it loads, generated from the code."""
