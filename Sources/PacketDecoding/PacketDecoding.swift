// PacketDecoding: placeholder until the stage lands.
