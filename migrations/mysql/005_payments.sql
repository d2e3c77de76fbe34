-- Refunds to send to the payment gateway, written in the same transaction as the cancel that
-- causes them, so none is lost; one row per payment, so none is sent twice.
CREATE TABLE IF NOT EXISTS refund_outbox (
  outbox_id INT AUTO_INCREMENT PRIMARY KEY,
  payment_id INT NOT NULL UNIQUE,
  receipt_id VARCHAR(100),
  cancel_price INT NOT NULL,
  reason VARCHAR(200) NOT NULL,
  status ENUM('PENDING','SENDING','DONE') NOT NULL DEFAULT 'PENDING',
  attempts INT NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL DEFAULT 0,
  last_error VARCHAR(500),
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  KEY idx_refund_outbox_due (status, next_attempt_at),
  FOREIGN KEY (payment_id) REFERENCES payments(payment_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
