"""From table and recipe to requests: template, schema, ids, request lines, tokens, prices, limits, the plan."""
