"""Exchange rates for orders priced in fiat: public exchange APIs (``sources``), the
median of their fresh answers (``quotes``), cached and refreshed in the background
(``book``)."""
