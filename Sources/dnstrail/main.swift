print("dnstrail")
