// Transactions: placeholder until the stage lands.
