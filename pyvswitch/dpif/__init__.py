"""The datapath interface: datapath flows (masked flow keys) and datapath actions, their text forms, and the
datapath providers that execute them."""
