"""Result files into the merged table: parsing, columns, structured fields, merge and export."""
