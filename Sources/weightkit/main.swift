import WeightFormats
print("weightkit")
