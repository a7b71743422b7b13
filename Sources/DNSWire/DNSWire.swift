// DNSWire: placeholder until the stage lands.
