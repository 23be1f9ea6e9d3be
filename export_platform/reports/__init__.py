"""What each dataset's report contains: its summary figures, its tables (the workbook's sheets, in the
order users had them) and the columns a landscape PDF page shows.

This is report design, decided next to the datasets; ``render/`` only draws the tables it is given.
Everything here is a pure function of the dataset frames.
"""
