"""Register of German regions: Länder, Regierungsbezirke, Kreise, Gemeindeverbände, Gemeinden."""
